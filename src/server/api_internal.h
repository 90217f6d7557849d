// Private to the server module: what the API's handler files share.
#ifndef FERRY_SERVER_API_INTERNAL_H_
#define FERRY_SERVER_API_INTERNAL_H_

#include <map>
#include <string>

#include "server/api.h"

namespace ferry::server {

struct Api::Call {
  const ApiRequest& request;
  std::map<std::string, std::string> params;  // the route's {parameters}
  Principal principal;                        // when authenticated
  bool authenticated = false;
};

}  // namespace ferry::server

#endif  // FERRY_SERVER_API_INTERNAL_H_
