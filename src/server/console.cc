#include "server/console.h"

#ifdef FERRY_HAVE_CONSOLE
#include "web/console_assets.h"
#endif

namespace ferry::server {

std::optional<ConsoleFile> FindConsoleFile(std::string_view path) {
  if (path == "/") path = "/index.html";
#ifdef FERRY_HAVE_CONSOLE
  for (const console::Asset& asset : console::Assets()) {
    if (asset.path == path) return ConsoleFile{asset.content_type, asset.body};
  }
#endif
  return std::nullopt;
}

bool ConsoleBuilt() {
#ifdef FERRY_HAVE_CONSOLE
  return true;
#else
  return false;
#endif
}

std::string_view ConsoleNotBuiltPage() {
  return R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ferry</title></head>
<body><h1>ferry</h1>
<p>This ferry was built without its web console (web/ was not part of the build).
The HTTP API is served: see <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
)html";
}

}  // namespace ferry::server
