// Signed checkpoints of the event log on a real SQLite store: they verify; a rewritten history
// (every hash recomputed, as a careful forger would) is still caught by the signature; an edited
// checkpoint and an unexpected signer are named.
#include "report/checkpoint.h"

#include <unistd.h>

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/event_chain.h"

namespace ferry::report {
namespace {

using ::testing::HasSubstr;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (std::filesystem::temp_directory_path() / fmt::format("ferry-checkpoint-{}.db", ::getpid()))
            .string();
    std::filesystem::remove(path_);
    store_ = Store::Open("sqlite://" + path_).value();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          store_->AppendEvent({"run-1", "cli:ops", "table.copied", Json{{"n", i}}}).has_value());
    }
    signer_ = crypto::Identity::Generate().value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove(path_);
  }
  // Rewrites event `seq`'s payload and recomputes every hash from it on, straight in SQLite.
  void RewriteHistory(int64_t seq) {
    std::vector<Event> events = store_->ReadEvents(0, 100).value();
    store_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    // What someone with the file does first: the log's append-only triggers go.
    ASSERT_EQ(sqlite3_exec(
                  db, "DROP TRIGGER ferry_events_no_update; DROP TRIGGER ferry_events_no_delete;",
                  nullptr, nullptr, nullptr),
              SQLITE_OK);
    std::string prev = std::string(kGenesisHash);
    for (Event& e : events) {
      if (e.seq == seq) e.payload = R"({"n":99})";
      e.prev_hash = prev;
      e.hash = EventHash(e);
      prev = e.hash;
      const std::string sql = fmt::format(
          "UPDATE ferry_events SET payload = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
          e.payload, e.prev_hash, e.hash, e.seq);
      ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
          << sqlite3_errmsg(db);
    }
    const std::string head = fmt::format("UPDATE ferry_event_head SET hash = '{}'", prev);
    sqlite3_exec(db, head.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    store_ = Store::Open("sqlite://" + path_).value();
  }

  std::string path_;
  std::unique_ptr<Store> store_;
  crypto::Identity signer_;
};

TEST_F(CheckpointTest, ACheckpointVerifies) {
  Event c = SignCheckpoint(*store_, signer_, "cli:ops").value();
  EXPECT_EQ(c.kind, "log.checkpoint");
  ASSERT_TRUE(store_->AppendEvent({"run-1", "cli:ops", "run.closed", Json::object()}).has_value());
  CheckpointReport r = VerifyCheckpoints(*store_, signer_.pub.Fingerprint()).value();
  EXPECT_EQ(r.checkpoints, 1);
  EXPECT_EQ(r.last_checkpointed_seq, 5);
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
}

TEST_F(CheckpointTest, ARewrittenHistoryWithValidHashesIsStillCaught) {
  ASSERT_TRUE(SignCheckpoint(*store_, signer_, "cli:ops").has_value());
  RewriteHistory(2);
  EXPECT_TRUE(store_->VerifyEventLog().value().intact);  // the chain alone cannot tell
  CheckpointReport r = VerifyCheckpoints(*store_).value();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(
      r.problems[0],
      HasSubstr(
          "event 5 no longer has the hash it signed: history before the checkpoint was rewritten"));
}

TEST_F(CheckpointTest, AnUnexpectedSignerIsNamed) {
  const crypto::Identity other = crypto::Identity::Generate().value();
  ASSERT_TRUE(SignCheckpoint(*store_, other, "cli:mallory").has_value());
  CheckpointReport r = VerifyCheckpoints(*store_, signer_.pub.Fingerprint()).value();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(r.problems[0],
              HasSubstr("signed by " + other.pub.Fingerprint() + ", not by the expected"));
}

TEST_F(CheckpointTest, ABrokenLogIsNotCheckpointed) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TRIGGER ferry_events_no_update", nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE ferry_events SET payload = '{\"n\":7}' WHERE seq = 3", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  store_ = Store::Open("sqlite://" + path_).value();
  Result<Event> c = SignCheckpoint(*store_, signer_, "cli:ops");
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error().message(), HasSubstr("a checkpoint would sign a tampered history"));
}

}  // namespace
}  // namespace ferry::report
