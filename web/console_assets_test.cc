// The embedded console (cmake/FerryWebAssets.cmake): what `ferry serve` will serve. Every ES
// module the console loads must resolve to an embedded file, since the browser has nothing else
// to fetch: a bare specifier ("preact") or a missing file would leave a blank page.
#include "web/console_assets.h"

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace ferry::console {
namespace {

std::map<std::string, const Asset*> ByPath() {
  std::map<std::string, const Asset*> assets;
  for (const Asset& a : Assets()) {
    EXPECT_TRUE(assets.emplace(std::string(a.path), &a).second) << "served twice: " << a.path;
  }
  return assets;
}

// "/assets/pages/run.js" + "../api.js" -> "/assets/api.js".
std::string Resolve(std::string_view from, std::string_view specifier) {
  std::filesystem::path base = std::filesystem::path(std::string(from)).parent_path();
  return (base / std::string(specifier)).lexically_normal().generic_string();
}

TEST(ConsoleAssetsTest, ServesTheEntryPointsWithTheirTypes) {
  const auto assets = ByPath();
  ASSERT_TRUE(assets.contains("/index.html"));
  EXPECT_EQ(assets.at("/index.html")->content_type, "text/html; charset=utf-8");
  for (const char* path : {"/assets/app.js", "/assets/style.css", "/assets/vendor/preact.module.js",
                           "/assets/vendor/preact-hooks.module.js", "/assets/vendor/htm.module.js",
                           "/assets/vendor/chart.umd.min.js"}) {
    ASSERT_TRUE(assets.contains(path)) << path;
    EXPECT_FALSE(assets.at(path)->body.empty()) << path;
  }
  EXPECT_EQ(assets.at("/assets/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(assets.at("/assets/style.css")->content_type, "text/css; charset=utf-8");
  for (const auto& [path, asset] : assets) {
    EXPECT_TRUE(path == "/index.html" || path.starts_with("/assets/")) << path;
    EXPECT_FALSE(asset->content_type.empty()) << path;
  }
}

// The CSP is script-src 'self'; style-src 'self': the page must load everything from files.
TEST(ConsoleAssetsTest, IndexHasNoInlineScriptOrStyle) {
  const auto assets = ByPath();
  const std::string index(assets.at("/index.html")->body);
  EXPECT_EQ(index.find("<style"), std::string::npos);
  EXPECT_EQ(index.find(" style="), std::string::npos);
  const std::regex script(R"(<script\b([^>]*)>([\s\S]*?)</script>)");
  int scripts = 0;
  for (auto it = std::sregex_iterator(index.begin(), index.end(), script);
       it != std::sregex_iterator(); ++it) {
    ++scripts;
    EXPECT_NE((*it)[1].str().find("src="), std::string::npos) << "inline script: " << it->str();
    EXPECT_TRUE((*it)[2].str().empty()) << it->str();
  }
  EXPECT_GE(scripts, 1);
  EXPECT_EQ(index.find("http://"), std::string::npos) << "the console must load nothing remote";
  EXPECT_EQ(index.find("https://"), std::string::npos) << "the console must load nothing remote";
}

TEST(ConsoleAssetsTest, EveryModuleImportResolvesToAnEmbeddedFile) {
  const auto assets = ByPath();
  // Static imports and re-exports (`from"x"`, `from './x.js'`), side-effect imports and
  // dynamic import() with a literal, as they appear in the console's own and minified code.
  const std::regex import_re(R"((?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["'])");
  std::set<std::string> reached;
  int imports = 0;
  for (const auto& [path, asset] : assets) {
    if (!path.ends_with(".js") || path.ends_with(".umd.min.js")) continue;
    const std::string body(asset->body);
    for (auto it = std::sregex_iterator(body.begin(), body.end(), import_re);
         it != std::sregex_iterator(); ++it) {
      const std::string specifier = (*it)[1].str();
      ++imports;
      ASSERT_TRUE(specifier.starts_with("./") || specifier.starts_with("../") ||
                  specifier.starts_with("/"))
          << path << " imports the bare specifier `" << specifier
          << "`, which a browser cannot resolve without an import map";
      const std::string target = specifier.starts_with("/") ? specifier : Resolve(path, specifier);
      EXPECT_TRUE(assets.contains(target))
          << path << " imports " << specifier << " (" << target << "), which is not embedded";
      reached.insert(target);
    }
  }
  EXPECT_GE(imports, 10);
  // Every page module is reachable from app.js's imports.
  for (const char* page :
       {"/assets/pages/run.js", "/assets/pages/plan.js", "/assets/vendor/preact.module.js",
        "/assets/vendor/preact-hooks.module.js"}) {
    EXPECT_TRUE(reached.contains(page)) << page;
  }
}

// index.html lists every module for preloading, so that the browser fetches them all at once
// instead of discovering them import by import (a waterfall of round trips).
TEST(ConsoleAssetsTest, IndexPreloadsEveryModule) {
  const auto assets = ByPath();
  const std::string index(assets.at("/index.html")->body);
  for (const auto& [path, asset] : assets) {
    if (!path.ends_with(".js") || path.ends_with(".umd.min.js") || path == "/assets/app.js") {
      continue;
    }
    EXPECT_NE(index.find("<link rel=\"modulepreload\" href=\"" + path + "\">"), std::string::npos)
        << path << " is not preloaded by index.html";
  }
}

}  // namespace
}  // namespace ferry::console
