// Private to the store module: the small SQL surface that SqlStore needs from a database, so
// that the queue, the event log and the migrations are written once for SQLite and PostgreSQL.
//
// SQL text uses `?` placeholders; the PostgreSQL connection rewrites them to $1..$n. Both
// engines provide ferry_now() (microseconds since the Unix epoch): SQLite as an application
// function reading the store's Env clock, PostgreSQL as a SQL function reading the server's
// clock, so that workers on several machines agree on lease expiry.
#ifndef FERRY_STORE_SQL_CONNECTION_H_
#define FERRY_STORE_SQL_CONNECTION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace ferry::store_internal {

// A bound parameter: NULL, an integer, or text.
using SqlParam = std::variant<std::nullptr_t, int64_t, std::string>;
// A result cell in text form; nullopt is SQL NULL.
using SqlValue = std::optional<std::string>;
using SqlRow = std::vector<SqlValue>;

// One connection. Not thread-safe: SqlStore hands a connection to one thread at a time.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;

  // Runs one statement and returns its rows (empty for statements without a result).
  // Transient failures (lock timeout, serialization failure, lost connection) have code
  // kUnavailable or kAborted; the caller may retry the whole transaction.
  virtual Result<std::vector<SqlRow>> Query(std::string_view sql,
                                            std::span<const SqlParam> params = {}) = 0;
  // Runs a script of several statements without parameters.
  virtual Status ExecScript(std::string_view sql) = 0;

  // Starts a transaction that takes the write lock at once (SQLite: BEGIN IMMEDIATE), so two
  // writers never deadlock upgrading a read lock.
  virtual Status BeginWrite() = 0;
  // Starts a read-only transaction whose reads all see one snapshot of the database.
  virtual Status BeginRead() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  // Whether the session still works (PostgreSQL: the socket is open).
  virtual bool Healthy() = 0;

  // Whether the last failed call failed because of a conflict with a concurrent transaction
  // (serialization failure, deadlock): the whole transaction may be retried. Other kAborted
  // errors, such as a lost lease, are answers and must not be retried.
  virtual bool LastErrorWasConflict() const = 0;
};

// Parses a text cell as an integer; NULL or garbage is a kDataLoss error naming `what`.
Result<int64_t> ToInt(const SqlValue& value, std::string_view what);

}  // namespace ferry::store_internal

#endif  // FERRY_STORE_SQL_CONNECTION_H_
