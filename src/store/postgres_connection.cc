#include "store/postgres_connection.h"

#include <map>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "base/url.h"

namespace ferry::store_internal {
namespace {

// Rewrites `?` placeholders to $1..$n, leaving quoted literals and $$-bodies alone.
std::string NumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  bool in_quote = false;
  for (char c : sql) {
    if (c == '\'') in_quote = !in_quote;
    if (c == '?' && !in_quote) {
      out += fmt::format("${}", next++);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class PostgresConnection final : public SqlConnection {
 public:
  PostgresConnection(PGconn* conn, std::string location)
      : conn_(conn), location_(std::move(location)) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    std::span<const SqlParam> params) override {
    std::vector<std::string> storage(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* n = std::get_if<int64_t>(&params[i])) {
        storage[i] = fmt::format("{}", *n);
        values[i] = storage[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&params[i])) {
        // Text parameters travel as C strings: a NUL would silently cut the value short.
        if (s->find('\0') != std::string::npos) {
          return Err(
              InvalidArgument("store {}: a text value contains a NUL character at byte "
                              "{}; PostgreSQL text cannot hold it: remove it or encode "
                              "the value (base64, hex)",
                              location_, s->find('\0')));
        }
        values[i] = s->c_str();
      }
    }
    FERRY_ASSIGN_OR_RETURN(const std::string* name, Prepare(sql, static_cast<int>(params.size())));
    PGresult* res = PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                                   values.data(), nullptr, nullptr, 0);
    std::unique_ptr<PGresult, decltype(&PQclear)> guard(res, &PQclear);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) return Err(Error(res));
    std::vector<SqlRow> rows;
    const int n_rows = PQntuples(res);
    const int n_cols = PQnfields(res);
    rows.reserve(n_rows);
    for (int r = 0; r < n_rows; ++r) {
      SqlRow row(n_cols);
      for (int c = 0; c < n_cols; ++c) {
        if (PQgetisnull(res, r, c)) continue;
        row[c].emplace(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Status ExecScript(std::string_view sql) override {
    std::string text(sql);
    PGresult* res = PQexec(conn_, text.c_str());
    std::unique_ptr<PGresult, decltype(&PQclear)> guard(res, &PQclear);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return Error(res);
    return OkStatus();
  }

  Status BeginWrite() override {
    conflict_ = false;  // only this transaction's errors decide whether it is retried
    return ExecScript("BEGIN");
  }
  Status BeginRead() override {
    conflict_ = false;
    return ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  Status Commit() override { return ExecScript("COMMIT"); }
  Status Rollback() override {
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return OkStatus();
    return ExecScript("ROLLBACK");
  }
  bool Healthy() override { return PQstatus(conn_) == CONNECTION_OK; }
  bool LastErrorWasConflict() const override { return conflict_; }

 private:
  // The store runs a small fixed set of statements many times: preparing each once per
  // connection saves the server a parse and a plan on every call.
  Result<const std::string*> Prepare(std::string_view sql, int n_params) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) return &it->second;
    std::string name = fmt::format("ferry_{}", prepared_.size() + 1);
    std::string text = NumberPlaceholders(sql);
    PGresult* res = PQprepare(conn_, name.c_str(), text.c_str(), n_params, nullptr);
    std::unique_ptr<PGresult, decltype(&PQclear)> guard(res, &PQclear);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) return Err(Error(res));
    return &prepared_.emplace(std::string(sql), std::move(name)).first->second;
  }

  Status Error(const PGresult* res) {
    std::string detail = PQresultErrorMessage(res);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    if (detail.empty()) detail = PQerrorMessage(conn_);
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string_view sqlstate = state != nullptr ? state : "";
    // 40001 serialization_failure, 40P01 deadlock_detected: retry the transaction.
    conflict_ = sqlstate == "40001" || sqlstate == "40P01";
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Unavailable(
          "store {}: lost the connection to the server ({}); check the server and "
          "retry: committed work is kept",
          location_, detail);
    }
    if (conflict_) {
      return Aborted("store {}: transaction conflict ({}); retry", location_, detail);
    }
    // Class 53: insufficient resources (disk full, out of memory, too many connections).
    if (sqlstate.starts_with("53")) {
      return ResourceExhausted(
          "store {}: the server is out of resources ({}); free them and "
          "retry",
          location_, detail);
    }
    if (sqlstate == "23505") {
      return AlreadyExists("store {}: {}", location_, detail);
    }
    return Internal("store {}: query failed: {} (SQLSTATE {})", location_, detail, sqlstate);
  }

  PGconn* conn_;
  std::string location_;
  bool conflict_ = false;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL text -> statement name
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> OpenPostgresConnection(const std::string& url,
                                                              const std::string& location) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return Err(ResourceExhausted("store {}: out of memory", location));
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq quotes the URL it could not parse, password included.
    std::string detail = RedactSecretsOf(url, PQerrorMessage(conn));
    PQfinish(conn);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    return Err(
        Unavailable("store {}: cannot connect: {}; check that the server is running and "
                    "the URL, user and password are right (PGPASSWORD and ~/.pgpass are "
                    "read), or use the embedded store with --store sqlite:///path/ferry.db",
                    location, detail));
  }
  // Notices (e.g. "relation already exists, skipping") are not for the user's terminal.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  auto connection = std::make_unique<PostgresConnection>(conn, location);
  FERRY_RETURN_IF_ERROR(connection->ExecScript("SET client_min_messages = warning"));
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace ferry::store_internal
