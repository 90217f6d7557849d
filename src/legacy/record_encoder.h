// JSON back to records: the inverse of RecordDecoder, for round trips and for feeding legacy
// consumers during a phased migration.
//
// The JSON has the decoder's shape (same options: names, root, fillers, variable-size OCCURS).
// Text is written in the code page and padded with spaces; numbers (JSON numbers, or strings
// with decimal text, which is how ToJson and ParseRecordJson keep exact decimals) must fit their
// picture: more digits or more decimals than it holds is an error, never a silent truncation.
// A field the JSON leaves out or sets to null is written blank: spaces for text and DISPLAY
// numbers, zero bytes otherwise (which decode back to null, except binary and floating point).
// Of a REDEFINES set, the first alternative present in the JSON is written and the later ones
// are ignored; an OCCURS DEPENDING ON array writes its counter from its length when the JSON
// has no counter, and must agree with it otherwise.
//
// Thread-safety: an encoder is used by one thread at a time.
#ifndef FERRY_LEGACY_RECORD_ENCODER_H_
#define FERRY_LEGACY_RECORD_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "legacy/copybook.h"
#include "legacy/layout.h"
#include "legacy/record_decoder.h"

namespace ferry::legacy {

class RecordEncoder {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RecordEncoder>> Create(const Copybook& copybook,
                                                                     const DecodeOptions& options);
  ~RecordEncoder();

  // The record's bytes: the copybook's size, or with variable-size OCCURS what the arrays
  // take. Errors name the field's path and what does not fit.
  [[nodiscard]] Result<std::vector<uint8_t>> Encode(const OrderedJson& record);

 private:
  class Impl;
  explicit RecordEncoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses one JSON object as ParseJson would, but keeps every number that has a fraction or an
// exponent as a string of its exact text ("30.50"), so that decimals reach the encoder unrounded.
[[nodiscard]] Result<OrderedJson> ParseRecordJson(std::string_view text,
                                                  std::string_view source_name);

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_RECORD_ENCODER_H_
