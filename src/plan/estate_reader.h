// Reads `ferry plan --inventory PATH...` (and `--from-store`) into an Estate: each PATH is an
// inventory file (`ferry discover --out`), a JSON Lines file of inventories (`ferry discover
// import` to stdout; .jsonl or .ndjson), an estate file (estate_file.h), or a directory of those
// (its *.json, *.jsonl, *.ndjson and *.estate files, not its subdirectories). Inventories may
// also be handed over as text (the ones the state store holds): they are read exactly as a file
// with the same content would be.
//
// A file or document that cannot be used (truncated, not JSON, a newer schema) is left out and
// recorded in Estate::skipped with a message naming it, what is wrong and the way out; the rest
// is read. A PATH that does not exist is an error: it is a typo, not bad input.
//
// Thread-safety: reads through `env`; no shared state. An EstateReader is used by one thread.
#ifndef FERRY_PLAN_ESTATE_READER_H_
#define FERRY_PLAN_ESTATE_READER_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "plan/estate.h"

namespace ferry::plan {

// The estate of `paths` (at least one): EstateReader::AddPaths, then Finish.
[[nodiscard]] Result<Estate> ReadEstate(const std::vector<std::string>& paths, Env* env);

// Gathers inputs of several kinds into one estate.
//
//   EstateReader reader(env);
//   FERRY_RETURN_IF_ERROR(reader.AddPaths(paths));
//   reader.AddInventoryText(record.document, "store:" + record.name, record.name);
//   Estate estate = std::move(reader).Finish();
class EstateReader {
 public:
  explicit EstateReader(Env* env) : env_(env) {}

  // Reads each path (a file or a directory, as above). NotFound, naming the path, for one that
  // does not exist; nothing of `paths` is read then.
  [[nodiscard]] Status AddPaths(const std::vector<std::string>& paths);
  // Reads one inventory given as text, as a file holding it would be read: the same version
  // checks and warnings; a bad one is left out and recorded in skipped. `source` names it in
  // messages (e.g. "store:web01"); `name` names the server when the inventory names no host.
  void AddInventoryText(std::string_view text, const std::string& source, const std::string& name);

  // Makes the servers' names unique and logs what was left out or odd; the reader is spent.
  [[nodiscard]] Estate Finish() &&;

 private:
  Env* env_;
  Estate estate_;
};

// Reads one file's text (of any of the forms above) into `estate`; problems go to
// estate->skipped and estate->warnings.
void AddEstateText(std::string_view text, const std::string& source, Estate* estate);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_ESTATE_READER_H_
