// A client of ferry's HTTP API: what `ferry --server URL ...` uses, and the tests. Only this
// file's .cc and http_server.cc include httplib.
//
// Thread-safety: one ApiClient per thread.
#ifndef FERRY_SERVER_CLIENT_H_
#define FERRY_SERVER_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace ferry::server {

struct ClientOptions {
  std::string api_key;  // sent as `Authorization: Bearer ...` when set
  std::string ca_file;  // PEM CA bundle to trust for https (default: the system's)
  int timeout_seconds = 30;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;
  std::string body;
  HeaderList headers;
  // The first header of that name (any case), or "".
  std::string Header(std::string_view name) const;
};

class ApiClient {
 public:
  // `base_url`: "http://127.0.0.1:8080" or "https://ferry.example:8443". kInvalidArgument for
  // anything else.
  static Result<std::unique_ptr<ApiClient>> Create(std::string_view base_url,
                                                   ClientOptions options = {});
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // One request. A reply with any status is a value; kUnavailable when the server cannot be
  // reached (naming it and the way out).
  Result<HttpReply> Send(std::string_view method, std::string_view path, std::string_view body = {},
                         std::string_view content_type = {}, const HeaderList& headers = {});

  // A GET whose body is handed to `on_data` as it arrives, until it returns false or the
  // server ends it. Returns the status.
  Result<int> Stream(std::string_view path, const HeaderList& headers,
                     const std::function<bool(std::string_view)>& on_data);

  // Send, with the API's error replies turned into a Status of the code the server named
  // (message prefixed with the server), and a 2xx body parsed as JSON.
  Result<Json> Call(std::string_view method, std::string_view path, const Json* body = nullptr);

  const std::string& base_url() const { return base_url_; }

 private:
  struct Impl;
  ApiClient(std::string base_url, std::unique_ptr<Impl> impl);
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry::server

#endif  // FERRY_SERVER_CLIENT_H_
