// The remote copy target on loopback: a relay server serving copies (ServeCopyTarget) and the
// copy engine loading through OpenRemoteConnector. Rows that are hard to move arrive and verify
// clean, chunks resume after the relay goes away mid-copy, a load the target refuses comes back
// with its reason and leaves the target as it was, and the server refuses targets outside its
// --targets prefixes and clients it does not admit.
#include "transport/remote.h"

#include <zstd.h>

#include <bit>
#include <chrono>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connect/canonical.h"
#include "move/copy.h"
#include "move/test_tables.h"
#include "move/verify.h"
#include "transport/relay.h"
#include "transport/test_identities.h"

namespace ferry::transport {
namespace {

using ::testing::HasSubstr;

using testing::Id;

// Node 1 serves copies into targets under `prefix`, admitting node 0.
std::unique_ptr<Relay> StartTargetRelay(const std::string& prefix, uint16_t port = 0) {
  RelayOptions so;
  so.identity = Id(1);
  so.listen = {"127.0.0.1", port};
  so.allowed_clients = {Id(0).pub.Fingerprint()};
  so.serve = [prefixes = std::vector<std::string>{prefix}](SecureChannel& ch) {
    return ServeCopyTarget(ch, prefixes);
  };
  return Relay::StartServer(so).value();
}

RemoteOptions ClientOptions(uint16_t port, std::shared_ptr<RemoteStats> stats = nullptr) {
  RemoteOptions o;
  o.server = {"127.0.0.1", port};
  o.identity = Id(0);
  o.server_identity = Id(1).pub;
  o.stats = std::move(stats);
  return o;
}

class RemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_.Exec(kSqliteSchema);
    source_.Exec(Inserts(/*postgres=*/false));
    source_.Exec(Bulk(100, 3000));
    dir_ = target_.path().substr(0, target_.path().rfind('/'));
  }
  SqliteFile source_{"source"};
  SqliteFile target_{"target"};
  std::string dir_;
  TempStore store_;
};

TEST_F(RemoteTest, CopiesThroughTheRelayAndVerifiesCleanBothWays) {
  auto relay = StartTargetRelay("sqlite://" + dir_ + "/");
  auto stats = std::make_shared<RemoteStats>();
  auto source = Connector::Open(source_.url()).value();
  RemoteOptions client = ClientOptions(relay->port(), stats);
  client.rekey.bytes = 4 << 10;  // a TLS key update every 4 KiB the client sends
  Result<std::unique_ptr<Connector>> target =
      OpenRemoteConnector(target_.url(), {.create_if_missing = true}, client);
  ASSERT_TRUE(target.has_value()) << target.error().ToString();
  EXPECT_EQ((*target)->engine(), "sqlite");
  EXPECT_THAT((*target)->location(), HasSubstr("via ferry://127.0.0.1:"));

  CopyOptions options{.jobs = 2, .chunk_rows = 500, .store = store_.get()};
  options.batch_rows = 256;
  Result<CopyReport> report = Copy(*source, **target, options);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  ASSERT_TRUE(report->verification.has_value());
  EXPECT_TRUE(report->verification->identical());
  ASSERT_EQ(report->tables.size(), 1u);
  EXPECT_EQ(report->tables[0].rows, 3004);
  EXPECT_GT(report->tables[0].chunks, 3);

  // What crossed: every row once, compressed, over a few reused channels.
  EXPECT_EQ(stats->rows_sent.load(), 3004);
  // The verification hashed the target's rows on the relay node: none crossed back.
  EXPECT_EQ(stats->rows_received.load(), 0);
  EXPECT_LT(stats->wire_bytes.load(), stats->batch_bytes.load());
  EXPECT_LT(stats->channels.load(), report->tables[0].chunks + 4);
  EXPECT_GE(stats->key_updates.load(), 2);  // the peer followed each one, or nothing would arrive
  // And independently of the relay: the target file itself matches the source.
  Result<VerifyReport> local = VerifyUrls(source_.url(), target_.url());
  ASSERT_TRUE(local.has_value()) << local.error().ToString();
  EXPECT_TRUE(local->identical());
  EXPECT_EQ(target_.QueryValue("SELECT owner FROM account WHERE id = 3"), "日本語 テキスト");

  // The target changed behind the copy's back: the verification through the relay finds each
  // difference (its checksums computed on the relay node, the differing rows read back).
  target_.Exec(
      "UPDATE account SET balance = 1.01 WHERE id = 150; DELETE FROM account WHERE id = 2");
  Result<VerifyReport> changed = Verify(*source, **target, {});
  ASSERT_TRUE(changed.has_value()) << changed.error().ToString();
  ASSERT_EQ(changed->tables.size(), 1u);
  const TableReport& t = changed->tables[0];
  EXPECT_FALSE(t.identical());
  EXPECT_EQ(t.changed, 1);
  EXPECT_EQ(t.missing, 1);
  EXPECT_EQ(t.extra, 0);
  EXPECT_EQ(t.target_rows, 3003);
  EXPECT_GT(stats->rows_received.load(), 0);  // the rows of the differing buckets only
  EXPECT_LT(stats->rows_received.load(), 100);
  EXPECT_TRUE(relay->errors().empty()) << relay->errors().front();
}

TEST_F(RemoteTest, CarriesOnWhenTheRelayGoesAwayAndComesBackMidCopy) {
  auto relay = StartTargetRelay("sqlite://" + dir_ + "/");
  const uint16_t port = relay->port();
  auto source = Connector::Open(source_.url()).value();
  auto target =
      OpenRemoteConnector(target_.url(), {.create_if_missing = true}, ClientOptions(port)).value();
  CopyOptions options{.chunk_rows = 500, .store = store_.get()};
  int committed = 0;
  std::thread restart;
  options.after_chunk_commit = [&](int64_t) -> Status {
    if (++committed == 2) {
      // The relay node goes down between two chunks (every channel to it breaks, new ones are
      // refused) and is back half a second later on the same port; the copy's chunk retries
      // reconnect.
      relay->Stop();
      restart = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        relay = StartTargetRelay("sqlite://" + dir_ + "/", port);
      });
    }
    return OkStatus();
  };
  Result<CopyReport> report = Copy(*source, *target, options);
  restart.join();
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  ASSERT_TRUE(report->verification.has_value());
  EXPECT_TRUE(report->verification->identical());
  // Each chunk is in the target once: the markers say so, and the row count agrees.
  EXPECT_EQ(target_.QueryValue("SELECT count(*) FROM account"), "3004");
  EXPECT_EQ(VerifyUrls(source_.url(), target_.url()).value().identical(), true);
}

TEST_F(RemoteTest, ALoadTheTargetRefusesComesBackWithItsReasonAndChangesNothing) {
  target_.Exec(
      "CREATE TABLE account (id INTEGER PRIMARY KEY, owner NVARCHAR(80) NOT NULL, balance "
      "NUMERIC(12,2) CHECK (balance < 1000), rate REAL, opened DATE, updated DATETIME, active "
      "BOOLEAN, photo BLOB, ref UUID, profile JSON);"
      "INSERT INTO account (id, owner, balance) VALUES (99999, 'kept', 1)");
  auto relay = StartTargetRelay("sqlite://" + dir_ + "/");
  auto source = Connector::Open(source_.url()).value();
  auto target = OpenRemoteConnector(target_.url(), {}, ClientOptions(relay->port())).value();
  CopyOptions options{.if_exists = IfExists::kAppend, .store = store_.get()};
  Result<CopyReport> report = Copy(*source, *target, options);
  ASSERT_FALSE(report.has_value());
  EXPECT_THAT(report.error().message(), HasSubstr("CHECK constraint"));
  EXPECT_THAT(report.error().message(), HasSubstr("table account, batch"));
  EXPECT_EQ(target_.QueryValue("SELECT count(*) || ' ' || min(owner) FROM account"), "1 kept");
}

TEST_F(RemoteTest, RefusesATargetOutsideItsPrefixesAndAnUnknownClient) {
  auto relay = StartTargetRelay("postgresql://app@db.internal/");
  Result<std::unique_ptr<Connector>> outside =
      OpenRemoteConnector(target_.url(), {.create_if_missing = true}, ClientOptions(relay->port()));
  ASSERT_FALSE(outside.has_value());
  EXPECT_EQ(outside.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(outside.error().message(), HasSubstr("postgresql://app@db.internal/"));
  EXPECT_FALSE(Env::Default()->FileExists(target_.path()));

  RemoteOptions stranger = ClientOptions(relay->port());
  stranger.identity = Id(2);
  Result<std::unique_ptr<Connector>> refused =
      OpenRemoteConnector(target_.url(), {.create_if_missing = true}, stranger);
  ASSERT_FALSE(refused.has_value());

  RemoteOptions wrong_pin = ClientOptions(relay->port());
  wrong_pin.server_identity = Id(2).pub;
  Result<std::unique_ptr<Connector>> unpinned =
      OpenRemoteConnector(target_.url(), {.create_if_missing = true}, wrong_pin);
  ASSERT_FALSE(unpinned.has_value());
  EXPECT_THAT(unpinned.error().message(), HasSubstr("not the pinned"));
}

// Random values of every kind, and the edge cases of each.
Value RandomValue(std::mt19937_64& rng, TypeKind kind) {
  std::uniform_int_distribution<int> pick(0, 9);
  if (pick(rng) == 0) return Value::Null();
  const auto any = [&] { return static_cast<int64_t>(rng()); };
  switch (kind) {
    case TypeKind::kBool: return Value::Bool(rng() & 1);
    case TypeKind::kInt64: return Value::Int64(pick(rng) == 1 ? INT64_MIN : any());
    case TypeKind::kDecimal: {
      static const char* kForms[] = {
          "0",   "-0.01",    "1500",      "12345678901234567890.123456789",
          "NaN", "Infinity", "-Infinity", "7.5"};
      return ParseDecimal(kForms[rng() % 8]).value();
    }
    case TypeKind::kFloat64:
      return Value::Float64(pick(rng) == 1 ? -0.0 : std::bit_cast<double>(rng()));
    case TypeKind::kText:
      return Value::Text(std::string("Zoë ") + std::to_string(rng() % 1000) + " 日本");
    case TypeKind::kBytes: {
      std::string b(rng() % 40, '\0');
      for (char& c : b) c = static_cast<char>(rng());
      return Value::Bytes(std::move(b));
    }
    case TypeKind::kDate:
      return Value::Date(pick(rng) == 1 ? kDateInfinity
                                        : static_cast<int32_t>(rng() % 1600000) - 800000);
    case TypeKind::kTime: return Value::Time(static_cast<int64_t>(rng() % (kMicrosPerDay + 1)));
    case TypeKind::kTimestamp: return Value::Timestamp(any());
    case TypeKind::kTimestampTz:
      return Value::TimestampTz(pick(rng) == 1 ? kTimestampMinusInfinity : any());
    case TypeKind::kUuid: {
      UuidBytes u;
      for (uint8_t& b : u) b = static_cast<uint8_t>(rng());
      return Value::Uuid(u);
    }
    case TypeKind::kJson: return ParseJsonValue(R"({"a":[1,2.5,null],"b":"é"})").value();
  }
  return Value::Null();
}

// A batch whose plain form is given, compressed as the codec would.
std::string Packed(std::string_view plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 1));
  return out;
}

TEST(RemoteProtocolTest, RowBatchesRoundTripEveryKindAndAgreeWithTheCanonicalDecoder) {
  std::mt19937_64 rng(20261207);
  const size_t columns = static_cast<size_t>(TypeKind::kJson) + 1;
  RowBatchCodec sender, receiver;
  std::vector<Row> decoded;
  for (int round = 0; round < 50; ++round) {
    std::vector<Row> rows(1 + rng() % 200);
    for (Row& row : rows) {
      for (size_t k = 0; k < columns; ++k)
        row.push_back(RandomValue(rng, static_cast<TypeKind>(k)));
    }
    Result<std::string_view> packed = sender.Encode(rows, columns);
    ASSERT_TRUE(packed.has_value()) << packed.error().ToString();
    ASSERT_TRUE(receiver.Decode(std::string(*packed), columns, &decoded).ok());
    ASSERT_EQ(decoded.size(), rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      // The independent path: the canonical encoding decoded by connect/canonical.h.
      const std::vector<Value> reference = DecodeCanonicalRow(CanonicalRow(rows[r])).value();
      for (size_t c = 0; c < columns; ++c) {
        ASSERT_EQ(decoded[r][c], rows[r][c])
            << "round " << round << " row " << r << " column " << c;
        ASSERT_EQ(decoded[r][c], reference[c]);
      }
    }
  }
}

TEST(RemoteProtocolTest, MalformedBatchesAreRefusedByName) {
  RowBatchCodec codec;
  std::vector<Row> rows;
  auto batch = [](std::string values, uint8_t columns = 1) {
    return std::string("\0\0\0\1\0\0\0", 7) + static_cast<char>(columns) + values;
  };
  const std::string decimal = std::string("\x03", 1) + std::string("\0\0\0\0\0\0\0\x04", 8);
  EXPECT_THAT(codec.Decode(Packed(batch(decimal + "1.50")), 1, &rows).message(),
              HasSubstr("decimal `1.50` is not in canonical form"));
  EXPECT_THAT(codec.Decode(Packed(batch(decimal + "01.5")), 1, &rows).message(),
              HasSubstr("not in canonical form"));
  EXPECT_TRUE(codec.Decode(Packed(batch(decimal + "-1.5")), 1, &rows).ok());
  EXPECT_THAT(codec.Decode(Packed(batch(std::string("\x02\0\0", 3))), 1, &rows).message(),
              HasSubstr("ends inside a value"));
  EXPECT_THAT(codec.Decode(Packed(batch(std::string("\0\0", 2))), 1, &rows).message(),
              HasSubstr("1 bytes after its last row"));
  EXPECT_THAT(codec.Decode(Packed(batch(std::string("\0", 1), 2)), 1, &rows).message(),
              HasSubstr("has 2 columns, the table has 1"));
  const std::string bad_text =
      std::string("\x05", 1) + std::string("\0\0\0\0\0\0\0\x01", 8) + "\xff";
  EXPECT_EQ(codec.Decode(Packed(batch(bad_text)), 1, &rows).code(), StatusCode::kDataLoss);
  EXPECT_THAT(codec.Decode("not zstd at all", 1, &rows).message(), HasSubstr("not a zstd frame"));
}

// A frame as the protocol sends it: u32 length of what follows, type, payload.
std::string Frame(char type, std::string_view payload) {
  const uint32_t n = static_cast<uint32_t>(payload.size() + 1);
  std::string f = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                   static_cast<char>(n >> 8), static_cast<char>(n), type};
  return f + std::string(payload);
}

// The reply frame's type and payload.
std::pair<char, std::string> Reply(SecureChannel& ch) {
  uint8_t head[5];
  const Status st = ch.ReadExact(head, "reply");
  if (!st.ok()) return {'\0', st.ToString()};  // the channel closed: the type says so
  const uint32_t n =
      (uint32_t{head[0]} << 24) | (uint32_t{head[1]} << 16) | (uint32_t{head[2]} << 8) | head[3];
  std::string payload(n - 1, '\0');
  EXPECT_TRUE(
      ch.ReadExact(std::span(reinterpret_cast<uint8_t*>(payload.data()), payload.size()), "reply")
          .ok());
  return {static_cast<char>(head[4]), payload};
}

TEST_F(RemoteTest, MalformedRequestsAreAnsweredWithAnErrorAndTheTargetIsUntouched) {
  auto relay = StartTargetRelay("sqlite://" + dir_ + "/");
  auto ch = SecureChannel::Connect({"127.0.0.1", relay->port()}, Id(0), Id(1).pub).value();
  auto send = [&](char type, std::string_view payload) {
    const std::string f = Frame(type, payload);
    ASSERT_TRUE(ch->Write(crypto::AsBytes(f)).ok());
  };
  send('C', R"({"method": "list_tables"})");  // before any target is open
  auto [type, body] = Reply(*ch);
  EXPECT_EQ(type, 'E');
  EXPECT_THAT(body, HasSubstr("no target is open on this channel"));
  send('O', Json{{"url", target_.url()}, {"create_if_missing", true}}.dump());
  EXPECT_EQ(Reply(*ch).first, 'K');
  send('C', "{not json");
  std::tie(type, body) = Reply(*ch);
  EXPECT_EQ(type, 'E');
  EXPECT_THAT(body, HasSubstr("a call:1:3: syntax error"));
  send('C', R"({"method": "drop_everything"})");
  std::tie(type, body) = Reply(*ch);
  EXPECT_EQ(type, 'E');
  EXPECT_THAT(body, HasSubstr("does not know the call `drop_everything`"));
  send('C', R"({"method": "describe_table"})");  // its argument missing
  std::tie(type, body) = Reply(*ch);
  EXPECT_EQ(type, 'E');
  EXPECT_THAT(body, HasSubstr("a malformed request"));
  // The channel still serves after each refusal, and nothing was created in the target.
  send('C', R"({"method": "list_tables"})");
  std::tie(type, body) = Reply(*ch);
  EXPECT_EQ(type, 'K');
  EXPECT_EQ(body, "[]");
}

TEST(RemoteProtocolTest, TableDescriptionsRoundTripAndViaUrlsParse) {
  TableInfo t{.name = "invoice",
              .columns = {{.name = "id",
                           .native_type = "bigint",
                           .kind = TypeKind::kInt64,
                           .nullable = false,
                           .auto_increment = true},
                          {.name = "total",
                           .native_type = "numeric(12,2)",
                           .kind = TypeKind::kDecimal,
                           .precision = 12,
                           .scale = 2},
                          {.name = "meta", .native_type = "jsonb", .kind = TypeKind::kJson}},
              .primary_key = {"id"},
              .estimated_rows = 42,
              .indexes = {{"invoice_total", {"total"}, true}},
              .foreign_keys = {{"fk_c", {"id"}, "customer", {"id"}, "CASCADE", ""}},
              .not_copied = {"CHECK (total > 0)"}};
  Result<TableInfo> back = TableInfoFromJson(TableInfoToJson(t));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(TableInfoToJson(*back), TableInfoToJson(t));
  EXPECT_EQ(back->columns[1].kind, TypeKind::kDecimal);
  EXPECT_TRUE(back->columns[0].auto_increment);
  Json broken = TableInfoToJson(t);
  broken["columns"][0]["kind"] = "money";
  EXPECT_THAT(TableInfoFromJson(broken).error().message(), HasSubstr("unknown kind `money`"));

  EXPECT_EQ(ParseViaUrl("ferry://10.0.0.7:7300").value().port, 7300);
  EXPECT_THAT(ParseViaUrl("https://10.0.0.7:7300").error().message(),
              HasSubstr("expected ferry://HOST:PORT"));
}

}  // namespace
}  // namespace ferry::transport
