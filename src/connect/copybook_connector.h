// Private to the connect module: a mainframe data file described by a COBOL copybook, as a
// read-only database of one table (module legacy decodes the records).
//
//   copybook:///abs/data.bin?copybook=/abs/layout.cob[&format=F|V|VB|text][&codepage=cp037]
//            [&rdw=big|little][&rdw_adjustment=-4][&table=NAME][&occurs=json|tables]
//
// The table is named `table=`, else the data file's name without its extension (lower case,
// non-alphanumerics as `_`). Its columns: `record_id` (int64, the 0-based record number: the
// primary key, so a verification names a record by its number), then the copybook's first
// record flattened: a group's fields as `GROUP_FIELD` (Cobrix's names: `-` as `_`), an OCCURS
// (of a field or a group) as one json column holding the array, every REDEFINES alternative as
// its own column, fillers left out. With occurs=tables each OCCURS is instead a child table
// `<parent table>_<name>` keyed by record_id and a 1-based `<NAME>_INDEX` per array on the way
// down (nested OCCURS make grandchildren), its columns the element's fields flattened the same
// way (or the element itself, named as the OCCURS, for an OCCURS of an elementary item); an
// OCCURS DEPENDING ON gives as many rows as its counter says. Types: integers of up to 18 digits int64, other numbers
// with a scale or beyond 18 digits decimal(precision, scale), COMP-1/COMP-2 float64, text text.
// Decimals are exact: they never pass through binary64.
//
// A record that does not decode stops the scan with the record's number and offset, the field
// and the reason: decode the file with `ferry copybook decode --rejects FILE` to see them all.
//
// Thread-safety: as Connector; each reader decodes with its own decoder.
#ifndef FERRY_CONNECT_COPYBOOK_CONNECTOR_H_
#define FERRY_CONNECT_COPYBOOK_CONNECTOR_H_

#include <memory>
#include <string>

#include "connect/connector.h"

namespace ferry::connect_internal {

// `url` starts with copybook://; `location` is the URL to print.
Result<std::unique_ptr<Connector>> OpenCopybookConnector(std::string_view url,
                                                         std::string location);

}  // namespace ferry::connect_internal

#endif  // FERRY_CONNECT_COPYBOOK_CONNECTOR_H_
