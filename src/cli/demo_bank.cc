#include "cli/demo_bank.h"

#include <unistd.h>

#include <array>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <sqlite3.h>

#include "connect/value.h"

namespace ferry {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name NVARCHAR(100) NOT NULL,
  email VARCHAR(120),
  country CHAR(2),
  born DATE,
  external_id UUID NOT NULL,
  kyc JSON
);
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  iban VARCHAR(34) NOT NULL,
  currency CHAR(3) NOT NULL,
  balance NUMERIC(20,2) NOT NULL,
  opened DATE NOT NULL,
  closed DATE,
  overdraft_rate REAL
);
CREATE TABLE loans (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  principal NUMERIC(14,2) NOT NULL,
  rate NUMERIC(7,5) NOT NULL,
  starts DATE NOT NULL,
  term_months INTEGER NOT NULL,
  collateral BLOB
);
CREATE TABLE transactions (
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (id),
  amount NUMERIC(14,2) NOT NULL,
  booked_at DATETIME NOT NULL,
  description TEXT,
  signature BLOB
);
)sql";

constexpr std::array<std::string_view, 12> kNames = {
    "Zoë Ångström", "Łukasz Wójcik", "Søren Kierkegaard", "陳大文",
    "Иван Петров",  "Seán O'Brien",  "محمد علي",          "Renée Lefèvre",
    "José Ñúñez",   "Ada Lovelace",  "Grace Hopper",      "Ngozi Okonjo 🙂"};
constexpr std::array<std::string_view, 6> kCountries = {"DE", "NO", "JP", "BR", "IE", "NG"};
constexpr std::array<std::string_view, 4> kCurrencies = {"EUR", "NOK", "JPY", "USD"};

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;
using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

class Loader {
 public:
  explicit Loader(sqlite3* db) : db_(db) {}

  Status Exec(std::string_view sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
    std::string detail = error != nullptr ? error : "";
    sqlite3_free(error);
    if (rc != SQLITE_OK) return Internal("demo bank: {}", detail);
    return OkStatus();
  }

  Result<Stmt> Prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return Err(Internal("demo bank: {}", sqlite3_errmsg(db_)));
    }
    return Stmt(stmt, &sqlite3_finalize);
  }

  Status Step(sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return Internal("demo bank: {}", sqlite3_errmsg(db_));
    return OkStatus();
  }

 private:
  sqlite3* db_;
};

void BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// An amount in cents as decimal text: 123456 -> "1234.56", -5 -> "-0.05".
std::string Money(int64_t cents) {
  const bool negative = cents < 0;
  const int64_t abs = negative ? -cents : cents;
  return fmt::format("{}{}.{:02}", negative ? "-" : "", abs / 100, abs % 100);
}

}  // namespace

Result<DemoBankSize> CreateDemoBank(const std::string& path, int64_t rows) {
  unlink(path.c_str());
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) {
    Db close(raw, &sqlite3_close_v2);
    return Err(Unavailable("demo bank {}: cannot create ({}); check the directory is writable",
                           path, raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  Db db(raw, &sqlite3_close_v2);
  Loader load(db.get());
  DemoBankSize size{.customers = std::max<int64_t>(1, rows / 20),
                    .accounts = std::max<int64_t>(1, rows / 10),
                    .loans = std::max<int64_t>(1, rows / 40),
                    .transactions = rows};
  std::mt19937_64 rng(20261123);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  FERRY_RETURN_IF_ERROR(load.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"));
  FERRY_RETURN_IF_ERROR(load.Exec(kSchema));
  FERRY_RETURN_IF_ERROR(load.Exec("BEGIN"));

  FERRY_ASSIGN_OR_RETURN(Stmt customer,
                         load.Prepare("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (int64_t id = 1; id <= size.customers; ++id) {
    sqlite3_stmt* s = customer.get();
    sqlite3_bind_int64(s, 1, id);
    const std::string_view name = kNames[static_cast<size_t>(pick(kNames.size()))];
    BindText(s, 2, fmt::format("{} #{}", name, id));
    if (id % 7 == 0) {
      sqlite3_bind_null(s, 3);  // no e-mail on file
    } else {
      BindText(s, 3, fmt::format("customer{}@example.org", id));
    }
    BindText(s, 4, kCountries[static_cast<size_t>(pick(kCountries.size()))]);
    BindText(s, 5, FormatDate(static_cast<int32_t>(-18000 + pick(25000))));  // 1920..1988
    UuidBytes uuid;
    for (auto& b : uuid) b = static_cast<uint8_t>(rng());
    BindText(s, 6, FormatUuid(uuid));
    if (id % 5 == 0) {
      sqlite3_bind_null(s, 7);
    } else {
      BindText(
          s, 7,
          fmt::format(R"({{"level": {}, "checked": "{}", "pep": {}, "limits": [{}, {}.50]}})",
                      1 + pick(3), FormatDate(static_cast<int32_t>(18000 + pick(2000))),
                      id % 11 == 0 ? "true" : "false", 1000 * (1 + pick(9)), 100 * (1 + pick(9))));
    }
    FERRY_RETURN_IF_ERROR(load.Step(s));
  }

  FERRY_ASSIGN_OR_RETURN(Stmt account,
                         load.Prepare("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  for (int64_t id = 1; id <= size.accounts; ++id) {
    sqlite3_stmt* s = account.get();
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, 1 + pick(size.customers));
    BindText(s, 3, fmt::format("DE{:02}{:018}", pick(100), id * 7919));
    BindText(s, 4, kCurrencies[static_cast<size_t>(pick(kCurrencies.size()))]);
    // Some balances need more digits than a double holds exactly: 18 significant digits.
    const int64_t cents = id % 97 == 0 ? 9'999'999'999'999'999 - id : pick(100'000'000) - 5'000'000;
    BindText(s, 5, Money(cents));
    const int32_t opened = static_cast<int32_t>(14000 + pick(6000));
    BindText(s, 6, FormatDate(opened));
    if (id % 9 == 0) {
      BindText(s, 7, FormatDate(opened + static_cast<int32_t>(1 + pick(900))));
    } else {
      sqlite3_bind_null(s, 7);
    }
    if (id % 4 == 0) {
      sqlite3_bind_null(s, 8);
    } else {
      sqlite3_bind_double(s, 8, static_cast<double>(pick(2000)) / 10000.0);
    }
    FERRY_RETURN_IF_ERROR(load.Step(s));
  }

  FERRY_ASSIGN_OR_RETURN(Stmt loan, load.Prepare("INSERT INTO loans VALUES (?, ?, ?, ?, ?, ?, ?)"));
  for (int64_t id = 1; id <= size.loans; ++id) {
    sqlite3_stmt* s = loan.get();
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, 1 + pick(size.accounts));
    BindText(s, 3, Money(100'000 + pick(50'000'000)));
    BindText(s, 4, fmt::format("0.0{:04}", pick(9999)));
    BindText(s, 5, FormatDate(static_cast<int32_t>(16000 + pick(4000))));
    sqlite3_bind_int64(s, 6, 12 * (1 + pick(30)));
    if (id % 3 == 0) {
      sqlite3_bind_null(s, 7);
    } else {
      std::string blob(static_cast<size_t>(16 + pick(240)), '\0');
      for (char& c : blob) c = static_cast<char>(rng());
      sqlite3_bind_blob(s, 7, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    }
    FERRY_RETURN_IF_ERROR(load.Step(s));
  }

  FERRY_ASSIGN_OR_RETURN(Stmt txn,
                         load.Prepare("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?)"));
  const int64_t start = int64_t{1'700'000'000} * kMicrosPerSecond;
  for (int64_t id = 1; id <= size.transactions; ++id) {
    sqlite3_stmt* s = txn.get();
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, 1 + pick(size.accounts));
    BindText(s, 3, Money(pick(2'000'000) - 1'000'000));
    BindText(s, 4, FormatTimestamp(start + id * 1'234'567 + pick(1'000'000)));
    if (id % 13 == 0) {
      sqlite3_bind_null(s, 5);
    } else if (id % 13 == 1) {
      BindText(s, 5, "");  // empty is not NULL
    } else {
      BindText(s, 5,
               fmt::format("payment {} → {}\tref:{}", id,
                           kNames[static_cast<size_t>(pick(kNames.size()))], rng() % 100000));
    }
    if (id % 50 == 0) {
      std::string blob(64, '\0');
      for (char& c : blob) c = static_cast<char>(rng());
      sqlite3_bind_blob(s, 6, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(s, 6);
    }
    FERRY_RETURN_IF_ERROR(load.Step(s));
  }
  FERRY_RETURN_IF_ERROR(load.Exec("COMMIT"));
  return size;
}

}  // namespace ferry
