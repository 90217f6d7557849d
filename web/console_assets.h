// The web console's files (web/src and the vendor files of web/node_modules), embedded in the
// binary by cmake/FerryWebAssets.cmake so that `ferry serve` needs no file on disk and no
// network to serve them. Defined only when the build found web/node_modules (setup.sh installs
// it): the target `ferry_console_assets` exists exactly when this is linkable.
#ifndef FERRY_WEB_CONSOLE_ASSETS_H_
#define FERRY_WEB_CONSOLE_ASSETS_H_

#include <span>
#include <string_view>

namespace ferry::console {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/app.js", "/assets/vendor/..."
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// Every file, sorted as generated (web/src in path order, then the vendor files). The data is
// static: the span and the views stay valid for the life of the process. Thread-safe.
std::span<const Asset> Assets();

}  // namespace ferry::console

#endif  // FERRY_WEB_CONSOLE_ASSETS_H_
