// The HTTP API's rows in the store (API keys, sessions, projects, plans), on both backends: a
// real SQLite file and a real PostgreSQL 15 server started by the test harness.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/hash.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace ferry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ApiStoreTest : public testing::StoreBackendTest {
 protected:
  static ApiKeyRecord Key(std::string id, std::string name, std::string role = "operator") {
    return {.id = std::move(id),
            .name = std::move(name),
            .role = std::move(role),
            .salt = "00ff",
            .secret_hash = Sha256Hex("secret"),
            .created_by = "cli:test"};
  }

  // The events of the log after `after`, as "kind by actor".
  std::vector<std::string> EventsAfter(int64_t after) {
    auto events = store_->ReadEvents(after, 1000);
    EXPECT_TRUE(events.has_value());
    std::vector<std::string> lines;
    for (const Event& e : *events) lines.push_back(e.kind + " by " + e.actor);
    return lines;
  }
};

TEST_P(ApiStoreTest, KeysRoundTripWithTheirEvents) {
  ASSERT_EQ(*store_->LastEventSeq(), 0);
  ApiKeyRecord key = Key("0123456789abcdef", "ci", "admin");
  key.expires_micros = 4'000'000'000'000'000;
  ASSERT_TRUE(store_->CreateApiKey(key, "cli:alice").ok());
  auto got = store_->GetApiKey("0123456789abcdef");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->name, "ci");
  EXPECT_EQ((*got)->role, "admin");
  EXPECT_EQ((*got)->salt, "00ff");
  EXPECT_EQ((*got)->secret_hash, Sha256Hex("secret"));
  EXPECT_EQ((*got)->expires_micros, 4'000'000'000'000'000);
  EXPECT_EQ((*got)->revoked_micros, 0);
  EXPECT_GT((*got)->created_micros, 0);
  EXPECT_FALSE(store_->GetApiKey("nope")->has_value());

  auto events = store_->ReadEvents(0, 10);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "api-key.created");
  EXPECT_EQ((*events)[0].actor, "cli:alice");
  EXPECT_EQ((*events)[0].at_micros, (*got)->created_micros);
  // The event never carries the hash or the salt.
  EXPECT_THAT((*events)[0].payload, Not(HasSubstr(Sha256Hex("secret"))));
  EXPECT_THAT((*events)[0].payload, HasSubstr("\"name\":\"ci\""));
  EXPECT_EQ(*store_->LastEventSeq(), 1);
}

TEST_P(ApiStoreTest, KeyNamesAreUniqueWhileInForce) {
  ASSERT_TRUE(store_->CreateApiKey(Key("aaaaaaaaaaaaaaaa", "deployer"), "cli:a").ok());
  Status twice = store_->CreateApiKey(Key("bbbbbbbbbbbbbbbb", "deployer"), "cli:a");
  EXPECT_EQ(twice.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(twice.message(), HasSubstr("`deployer` is in force already (id aaaaaaaaaaaaaaaa)"));
  EXPECT_THAT(twice.message(), HasSubstr("revoke it first"));
  Status same_id = store_->CreateApiKey(Key("aaaaaaaaaaaaaaaa", "other"), "cli:a");
  EXPECT_EQ(same_id.code(), StatusCode::kAlreadyExists);
  // Refusals change nothing, and write no event.
  EXPECT_EQ(store_->ListApiKeys()->size(), 1u);
  EXPECT_EQ(*store_->LastEventSeq(), 1);

  auto revoked = store_->RevokeApiKey("aaaaaaaaaaaaaaaa", "key:admin");
  ASSERT_TRUE(revoked.has_value()) << revoked.error().ToString();
  EXPECT_GT(revoked->revoked_micros, 0);
  // The name may now be used again.
  ASSERT_TRUE(store_->CreateApiKey(Key("bbbbbbbbbbbbbbbb", "deployer"), "cli:a").ok());
  auto keys = store_->ListApiKeys();
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, "aaaaaaaaaaaaaaaa");
  EXPECT_NE((*keys)[0].revoked_micros, 0);
  EXPECT_EQ((*keys)[1].revoked_micros, 0);
  EXPECT_THAT(EventsAfter(0),
              ::testing::ElementsAre("api-key.created by cli:a", "api-key.revoked by key:admin",
                                     "api-key.created by cli:a"));
}

TEST_P(ApiStoreTest, RevokingIsIdempotentAndEndsSessions) {
  ASSERT_TRUE(store_->CreateApiKey(Key("cccccccccccccccc", "console"), "cli:a").ok());
  ApiSessionRecord session{.id = "s1",
                           .key_id = "cccccccccccccccc",
                           .salt = "01",
                           .secret_hash = "ab",
                           .expires_micros = 4'000'000'000'000'000};
  ASSERT_TRUE(store_->CreateApiSession(session, "key:console").ok());
  auto got = store_->GetApiSession("s1");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->key_id, "cccccccccccccccc");
  EXPECT_EQ((*got)->expires_micros, 4'000'000'000'000'000);

  auto first = store_->RevokeApiKey("cccccccccccccccc", "key:admin");
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(store_->GetApiSession("s1")->has_value());
  const int64_t seq = *store_->LastEventSeq();
  auto second = store_->RevokeApiKey("cccccccccccccccc", "key:admin");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->revoked_micros, first->revoked_micros);
  EXPECT_EQ(*store_->LastEventSeq(), seq);  // no second event

  auto unknown = store_->RevokeApiKey("dddddddddddddddd", "key:admin");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.error().message(), HasSubstr("no API key with id dddddddddddddddd"));
  Status orphan = store_->CreateApiSession({.id = "s2",
                                            .key_id = "dddddddddddddddd",
                                            .salt = "01",
                                            .secret_hash = "ab",
                                            .expires_micros = 1},
                                           "key:x");
  EXPECT_EQ(orphan.code(), StatusCode::kNotFound);
}

TEST_P(ApiStoreTest, ExpiredSessionsAreDeletedWhenAnotherOpens) {
  ASSERT_TRUE(store_->CreateApiKey(Key("eeeeeeeeeeeeeeee", "console"), "cli:a").ok());
  ASSERT_TRUE(store_
                  ->CreateApiSession({.id = "old",
                                      .key_id = "eeeeeeeeeeeeeeee",
                                      .salt = "01",
                                      .secret_hash = "ab",
                                      .expires_micros = 1},
                                     "key:console")
                  .ok());
  EXPECT_TRUE(store_->GetApiSession("old")->has_value());
  ASSERT_TRUE(store_
                  ->CreateApiSession({.id = "new",
                                      .key_id = "eeeeeeeeeeeeeeee",
                                      .salt = "01",
                                      .secret_hash = "ab",
                                      .expires_micros = 4'000'000'000'000'000},
                                     "key:console")
                  .ok());
  EXPECT_FALSE(store_->GetApiSession("old")->has_value());
  EXPECT_TRUE(store_->GetApiSession("new")->has_value());
}

TEST_P(ApiStoreTest, RefusesKeysWithoutTheirParts) {
  ApiKeyRecord bad_role = Key("ffffffffffffffff", "x", "boss");
  Status status = store_->CreateApiKey(bad_role, "cli:a");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("role `boss`: expected admin, operator or viewer"));
  ApiKeyRecord no_hash = Key("ffffffffffffffff", "x");
  no_hash.secret_hash.clear();
  EXPECT_EQ(store_->CreateApiKey(no_hash, "cli:a").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateApiKey(Key("ffffffffffffffff", "x"), "").code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListApiKeys()->empty());
}

TEST_P(ApiStoreTest, ProjectsRoundTrip) {
  ASSERT_TRUE(store_->CreateProject({.name = "zeta", .description = "last"}, "key:op").ok());
  ASSERT_TRUE(store_->CreateProject({.name = "Alpha", .description = "first"}, "key:op").ok());
  Status again = store_->CreateProject({.name = "zeta", .description = "x"}, "key:op");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(again.message(), HasSubstr("project `zeta` exists already"));
  auto projects = store_->ListProjects();
  ASSERT_TRUE(projects.has_value());
  ASSERT_EQ(projects->size(), 2u);
  EXPECT_EQ((*projects)[0].name, "Alpha");  // byte order on both engines
  EXPECT_EQ((*projects)[1].name, "zeta");
  EXPECT_EQ((*projects)[1].created_by, "key:op");
  auto one = store_->GetProject("zeta");
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->description, "last");
  EXPECT_FALSE(store_->GetProject("beta")->has_value());
  EXPECT_THAT(EventsAfter(0),
              ::testing::ElementsAre("project.created by key:op", "project.created by key:op"));
}

TEST_P(ApiStoreTest, PlansRoundTripNewestFirst) {
  const std::string doc1 = R"({"waves":[]})";
  const std::string doc2 = R"({"waves":[{"n":1}]})";
  ASSERT_TRUE(store_
                  ->SavePlan({.id = "plan-1",
                              .hosts = 3,
                              .waves = 0,
                              .options = R"({"percentile":95})",
                              .document = doc1},
                             "key:op")
                  .ok());
  ASSERT_TRUE(
      store_->SavePlan({.id = "plan-2", .hosts = 4, .waves = 1, .document = doc2}, "key:op").ok());
  EXPECT_EQ(store_->SavePlan({.id = "plan-2", .document = doc2}, "key:op").code(),
            StatusCode::kAlreadyExists);
  auto plans = store_->ListPlans(0);
  ASSERT_TRUE(plans.has_value());
  ASSERT_EQ(plans->size(), 2u);
  EXPECT_EQ((*plans)[0].id, "plan-2");
  EXPECT_TRUE((*plans)[0].document.empty());  // listings leave the documents out
  EXPECT_EQ((*plans)[1].options, R"({"percentile":95})");
  EXPECT_EQ(store_->ListPlans(1)->size(), 1u);
  auto one = store_->GetPlan("plan-2");
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->document, doc2);
  EXPECT_EQ((*one)->hosts, 4);
  EXPECT_EQ((*one)->options, "{}");
  auto events = store_->ReadEvents(0, 10);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "plan.created");
  EXPECT_THAT((*events)[1].payload, HasSubstr(Sha256Hex(doc2)));
}

TEST_P(ApiStoreTest, GetsOneInventoryByName) {
  ASSERT_TRUE(store_
                  ->PutInventory({.name = "web-1",
                                  .source_kind = "agent",
                                  .schema_version = "1.0",
                                  .document = R"({"host":{"hostname":"web-1"}})"},
                                 "cli:a")
                  .has_value());
  auto one = store_->GetInventory("web-1");
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->document, R"({"host":{"hostname":"web-1"}})");
  EXPECT_EQ((*one)->source_kind, "agent");
  EXPECT_FALSE(store_->GetInventory("web-2")->has_value());
  EXPECT_FALSE(store_->GetInventory("web-")->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace ferry
