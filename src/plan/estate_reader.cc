#include "plan/estate_reader.h"

#include <fmt/format.h>

#include "base/log.h"
#include "plan/estate_file.h"
#include "plan/inventory_adapter.h"

namespace ferry::plan {
namespace {

bool HasSuffix(const std::string& name, std::string_view suffix) {
  return name.size() >= suffix.size() && name.ends_with(suffix);
}

bool IsJsonLines(const std::string& path) {
  return HasSuffix(path, ".jsonl") || HasSuffix(path, ".ndjson");
}

void ReadInventoryText(std::string_view text, const std::string& source, Estate* estate,
                       const std::string& fallback_name = {}) {
  Result<InventoryDocument> document = ParseInventoryDocument(text, source);
  if (!document.has_value()) {
    estate->skipped.push_back({source, document.error().message()});
    return;
  }
  for (std::string& warning : document->warnings) {
    estate->warnings.push_back({source, std::move(warning), /*logged=*/true});
  }
  Status added = AddInventory(document->document, source, estate, fallback_name);
  if (!added.ok()) {
    estate->skipped.push_back({source, added.message()});
    return;
  }
  ++estate->inputs_read;
}

}  // namespace

void AddEstateText(std::string_view text, const std::string& source, Estate* estate) {
  if (LooksLikeEstateFile(text)) {
    Status parsed = ParseEstateFile(text, source, estate);
    if (!parsed.ok()) {
      estate->skipped.push_back({source, parsed.message()});
    } else {
      ++estate->inputs_read;
    }
    return;
  }
  if (IsJsonLines(source)) {
    size_t pos = 0, line = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view one = text.substr(pos, end - pos);
      ++line;
      pos = end + 1;
      if (one.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ReadInventoryText(one, fmt::format("{}:{}", source, line), estate);
    }
    return;
  }
  ReadInventoryText(text, source, estate);
}

Result<Estate> ReadEstate(const std::vector<std::string>& paths, Env* env) {
  if (paths.empty()) {
    return Err(InvalidArgument(
        "no inventory given: pass --inventory with files or directories written by `ferry "
        "discover` (or an estate file)"));
  }
  EstateReader reader(env);
  FERRY_RETURN_IF_ERROR(reader.AddPaths(paths));
  return std::move(reader).Finish();
}

Status EstateReader::AddPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    Result<std::vector<std::string>> entries = env_->ListDir(path);
    if (entries.has_value()) {
      size_t before = files.size();
      for (const std::string& name : *entries) {
        if (HasSuffix(name, ".json") || IsJsonLines(name) || HasSuffix(name, ".estate")) {
          files.push_back(path + (path.ends_with('/') ? "" : "/") + name);
        }
      }
      if (files.size() == before) {
        estate_.warnings.push_back(
            {path, fmt::format("--inventory {}: the directory holds no *.json, *.jsonl or "
                               "*.estate file",
                               path)});
      }
      continue;
    }
    if (!env_->FileExists(path)) {
      return NotFound(
          "--inventory {}: no such file or directory; pass inventories written "
          "by `ferry discover --out FILE`, or a directory of them",
          path);
    }
    files.push_back(path);
  }
  for (const std::string& file : files) {
    Result<std::string> text = env_->ReadFile(file);
    if (!text.has_value()) {
      estate_.skipped.push_back({file, fmt::format("{}; check its permissions, or leave it out",
                                                   text.error().message())});
      continue;
    }
    AddEstateText(*text, file, &estate_);
  }
  return OkStatus();
}

void EstateReader::AddInventoryText(std::string_view text, const std::string& source,
                                    const std::string& name) {
  ReadInventoryText(text, source, &estate_, name);
}

Estate EstateReader::Finish() && {
  MakeNamesUnique(&estate_);
  for (const InputNote& note : estate_.skipped) LogWarn(note.message);
  for (const InputNote& note : estate_.warnings) {
    if (!note.logged) LogWarn(note.message);
  }
  return std::move(estate_);
}

}  // namespace ferry::plan
