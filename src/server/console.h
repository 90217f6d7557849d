// The web console's files, embedded in the binary by the build from web/ (target
// ferry_console_assets, when web/ is built; docs/api.md "The console").
#ifndef FERRY_SERVER_CONSOLE_H_
#define FERRY_SERVER_CONSOLE_H_

#include <optional>
#include <string_view>

namespace ferry::server {

struct ConsoleFile {
  std::string_view content_type;
  std::string_view body;
};

// The file at `path` ("/index.html", "/assets/app.js"); "/" is "/index.html". nullopt when
// there is none, or when the console was not built.
std::optional<ConsoleFile> FindConsoleFile(std::string_view path);
bool ConsoleBuilt();
// What / shows when the console was not built.
std::string_view ConsoleNotBuiltPage();

}  // namespace ferry::server

#endif  // FERRY_SERVER_CONSOLE_H_
