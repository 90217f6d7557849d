// SWIFT MT <-> ISO 20022 (MX) translation in the CBPR+ profile (docs/swift.md has the field
// mapping table):
//   MT103                      -> pacs.008.001.08 (FIToFICstmrCdtTrf)
//   MT202, MT205               -> pacs.009.001.08 (FICdtTrf; BizSvc swift.cbprplus.adv.03 when a
//                                 reimbursement agent 53a/54a makes it a cover advice)
//   MT202COV, MT205COV         -> pacs.009.001.08 with UndrlygCstmrCdtTrf (swift.cbprplus.cov.03)
//   MT103/MT202 with /RETN/    -> pacs.004.001.09 (PmtRtr)
// each wrapped with its business application header (head.001.001.02) in an <Envelope>; and back,
//   pacs.008.001.08            -> MT103
//   pacs.009.001.08            -> MT202, or MT202COV with UndrlygCstmrCdtTrf
//   pacs.004.001.09            -> MT103 or MT202 with /RETN/
// so that MT -> MX -> MT keeps every mapped field (docs/swift.md says what the comparison
// allows: an MT205 comes back as an MT202, amounts as decimals, ...).
//
// XML is written and read with pugixml. Thread-safety: the functions are thread-safe.
#ifndef FERRY_LEGACY_SWIFT_MX_H_
#define FERRY_LEGACY_SWIFT_MX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "legacy/swift_mt.h"

namespace ferry::legacy {

struct MtToMxOptions {
  // Codes of field 72 beyond the standard ones (docs/swift.md: INS, ACC, INT, REC, PHON, ...)
  // that go to InstrForNxtAgt, such as a bilateral "XBANK". Without them an unknown code is an
  // error rather than silently dropped text.
  std::vector<std::string> extra_sender_to_receiver_codes;
  // The creation time stamped on messages whose block 2 is an input header (it has no date):
  // seconds since the Unix epoch, UTC. Unset: the current time.
  std::optional<int64_t> creation_time;
  // Indented XML (two blanks a level) or one line; the content is the same.
  bool indent = true;
};

struct MxDocument {
  std::string xml;
  std::string message_definition;  // "pacs.008.001.08"
  std::string business_service;    // "swift.cbprplus.03"
};

// Translates a parsed MT; it is validated first (ValidateMt), so format errors come with their
// line and column. Errors: InvalidArgument for a message that is not valid or content the
// mapping cannot take (an unknown /CODE/ in 72, a return without its reason), naming the
// field; Unimplemented for message types and fields outside the mapping (docs/swift.md, "Not
// supported").
[[nodiscard]] Result<MxDocument> TranslateMtToMx(const MtMessage& message,
                                                 const MtToMxOptions& options = {});

// ParseMt and TranslateMtToMx in one call.
[[nodiscard]] Result<MxDocument> TranslateMtTextToMx(std::string_view text,
                                                     const MtToMxOptions& options = {});

struct MxToMtOptions {
  // The MT's block 2: an output header (what the receiving bank gets from the network; its
  // MIR date and time come from the creation time, so an output MT translated there and back
  // has the same header) or an input header (what the sender submits).
  bool output_header = true;
};

// Translates a pacs.008.001.08 document (an <Envelope> with <AppHdr> and <Document>, an
// <AppHdr>-less <Document>, with or without namespace prefixes) to an MT103 in FIN format
// (CRLF line ends, "-}" and no trailing newline), checked with ParseMt and ValidateMt before it
// is returned. Errors name the element path and what is wrong with it, or, for text FIN cannot
// carry (outside the X character set, too long), the MT field it would have gone to.
[[nodiscard]] Result<std::string> TranslatePacs008ToMt103(std::string_view xml,
                                                          const MxToMtOptions& options = {});

// Any of the documents TranslateMtToMx writes back to its MT: pacs.008 to MT103 (as
// TranslatePacs008ToMt103), pacs.009 to MT202 (MT202COV with an UndrlygCstmrCdtTrf; an MT205
// comes back as an MT202: nothing in the pacs.009 tells them apart), pacs.004 to an MT103 or
// MT202 with /RETN/ in 72.
[[nodiscard]] Result<std::string> TranslateMxToMt(std::string_view xml,
                                                  const MxToMtOptions& options = {});

}  // namespace ferry::legacy

#endif  // FERRY_LEGACY_SWIFT_MX_H_
