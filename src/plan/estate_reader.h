// Reads `ferry plan --inventory PATH...` into an Estate: each PATH is an inventory file
// (`ferry discover --out`), a JSON Lines file of inventories (`ferry discover import` to
// stdout; .jsonl or .ndjson), an estate file (estate_file.h), or a directory of those (its
// *.json, *.jsonl, *.ndjson and *.estate files, not its subdirectories).
//
// A file that cannot be used (truncated, not JSON, a newer schema) is left out and recorded in
// Estate::skipped with a message naming it, what is wrong and the way out; the rest is read. A
// PATH that does not exist is an error: it is a typo, not bad input.
//
// Thread-safety: reads through `env`; no shared state.
#ifndef FERRY_PLAN_ESTATE_READER_H_
#define FERRY_PLAN_ESTATE_READER_H_

#include <string>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "plan/estate.h"

namespace ferry::plan {

[[nodiscard]] Result<Estate> ReadEstate(const std::vector<std::string>& paths, Env* env);

// Reads one file's text (of any of the forms above) into `estate`; problems go to
// estate->skipped and estate->warnings.
void AddEstateText(std::string_view text, const std::string& source, Estate* estate);

}  // namespace ferry::plan

#endif  // FERRY_PLAN_ESTATE_READER_H_
