// A CSV reader for the exports of other discovery tools (csv_import.h).
//
// RFC 4180 ("Common Format and MIME Type for CSV Files", section 2), with what spreadsheet
// programs add: fields separated by commas, records by CRLF or LF; a field in double quotes may
// hold commas, line breaks and doubled quotes (""); a UTF-8 byte order mark at the start (Excel
// writes one) is dropped; blank lines are skipped. Outside quotes a quote character is kept as
// it is (RFC 4180 forbids it; Excel writes it). Errors name the source, the line and the column:
// a quoted field never closed, text after a closing quote.
//
// No Debian library suits: libcsv (libcsv-dev) is callback-driven C and reports no positions,
// and the whole reader is 80 lines.
#ifndef FERRY_DISCOVER_CSV_H_
#define FERRY_DISCOVER_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ferry {

struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;  // 1-based line on which the record starts
};

// Every record of `text`, the header first. `source` names the text in errors ("file.csv").
[[nodiscard]] Result<std::vector<CsvRecord>> ParseCsv(std::string_view text,
                                                      std::string_view source);

}  // namespace ferry

#endif  // FERRY_DISCOVER_CSV_H_
