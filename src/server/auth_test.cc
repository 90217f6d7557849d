// Tokens, hashes and the rate limiter, against an independent HMAC (OpenSSL's command line is
// not needed: RFC 4231's test vectors pin HMAC-SHA256).
#include "server/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/rate_limiter.h"
#include "store/store_test_util.h"

namespace ferry::server {
namespace {

using ::testing::HasSubstr;

TEST(AuthTest, HashIsHmacSha256KeyedBySalt) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(HashSecret("4a656665", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(AuthTest, ParsesOnlyWellFormedTokens) {
  const std::string id(16, 'a'), secret(64, 'b');
  auto key = ParseToken("fry_" + id + "_" + secret);
  ASSERT_TRUE(key.has_value());
  EXPECT_FALSE(key->session);
  EXPECT_EQ(key->id, id);
  EXPECT_EQ(key->secret, secret);
  auto session = ParseToken("frs_" + id + "_" + secret);
  ASSERT_TRUE(session.has_value());
  EXPECT_TRUE(session->session);
  for (const std::string& bad :
       {std::string("Bearer x"), "fry_" + id + secret, "fry_" + id + "_" + secret + "0",
        "fry_" + std::string(16, 'G') + "_" + secret, "fry_" + id + "_" + std::string(64, 'B'),
        std::string("fry_")}) {
    auto parsed = ParseToken(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code(), StatusCode::kUnauthenticated);
    EXPECT_THAT(parsed.error().message(), ::testing::Not(HasSubstr(secret))) << "never echoed";
  }
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto location = testing::StoreLocation::Create("sqlite", "auth");
    ASSERT_TRUE(location.has_value()) << location.error().ToString();
    location_ = std::move(*location);
    env_.SetNowMicros(1'900'000'000'000'000);
    auto store = Store::Open(location_->url(), {.env = &env_});
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  std::unique_ptr<testing::StoreLocation> location_;
  FaultInjectionEnv env_{Env::Default()};
  std::unique_ptr<Store> store_;
};

TEST_F(AuthenticatorTest, KeysAndSessionsStandForTheirKeyUntilExpiryOrRevocation) {
  auto key = CreateApiKey(store_.get(), "deployer", Role::kOperator,
                          env_.NowMicros() + 3'600'000'000, "cli:test");
  ASSERT_TRUE(key.has_value()) << key.error().ToString();
  EXPECT_TRUE(key->token.starts_with("fry_" + key->record.id + "_"));
  // Only the salted hash is kept.
  EXPECT_EQ(key->record.secret_hash, HashSecret(key->record.salt, key->token.substr(21)));
  EXPECT_EQ(key->token.find(key->record.secret_hash), std::string::npos);

  Authenticator auth(store_.get(), &env_);
  auto who = auth.Authenticate(key->token);
  ASSERT_TRUE(who.has_value()) << who.error().ToString();
  EXPECT_EQ(who->actor, "key:deployer");
  EXPECT_EQ(who->role, Role::kOperator);

  std::string wrong = key->token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto refused = auth.Authenticate(wrong);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(), HasSubstr("does not match"));

  auto session = auth.OpenSession(key->token);
  ASSERT_TRUE(session.has_value()) << session.error().ToString();
  EXPECT_TRUE(session->token.starts_with("frs_"));
  // The session ends with the key: 1 h, not 12 h.
  EXPECT_EQ(session->principal.expires_micros, env_.NowMicros() + 3'600'000'000);
  auto as_console = auth.Authenticate(session->token);
  ASSERT_TRUE(as_console.has_value());
  EXPECT_EQ(as_console->actor, "console:deployer");
  EXPECT_FALSE(auth.OpenSession(session->token).has_value()) << "sessions come from keys only";

  env_.AdvanceMicros(3'600'000'001);
  auto expired = auth.Authenticate(key->token);
  ASSERT_FALSE(expired.has_value());
  EXPECT_THAT(expired.error().message(), HasSubstr("has expired"));
  EXPECT_FALSE(auth.Authenticate(session->token).has_value());

  auto other = CreateApiKey(store_.get(), "viewer", Role::kViewer, 0, "cli:test");
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE(auth.Authenticate(other->token).has_value());
  ASSERT_TRUE(store_->RevokeApiKey(other->record.id, "cli:test").has_value());
  auth.Forget(other->record.id);
  auto revoked = auth.Authenticate(other->token);
  ASSERT_FALSE(revoked.has_value());
  EXPECT_THAT(revoked.error().message(), HasSubstr("was revoked"));
}

TEST(RateLimiterTest, AllowsTheRateAndABurstThenSaysWhenToRetry) {
  FaultInjectionEnv env(Env::Default());
  env.SetNowMicros(1'000'000);
  RateLimiter limiter(2, 0, &env);  // burst: one second's worth, 2
  EXPECT_EQ(limiter.Admit("a"), 0);
  EXPECT_EQ(limiter.Admit("a"), 0);
  EXPECT_EQ(limiter.Admit("a"), 1);
  EXPECT_EQ(limiter.Admit("b"), 0) << "each caller has its own bucket";
  env.AdvanceMicros(500'000);  // one token back
  EXPECT_EQ(limiter.Admit("a"), 0);
  EXPECT_EQ(limiter.Admit("a"), 1);
  RateLimiter slow(0.1, 0, &env);  // one per 10 s
  EXPECT_EQ(slow.Admit("a"), 0);
  EXPECT_EQ(slow.Admit("a"), 10);
  RateLimiter off(0, 0, &env);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(off.Admit("a"), 0);
}

TEST(RateLimiterTest, ParsesRates) {
  EXPECT_EQ(*ParseRate("20/s"), 20);
  EXPECT_EQ(*ParseRate("20"), 20);
  EXPECT_EQ(*ParseRate("120/min"), 2);
  EXPECT_EQ(*ParseRate("0"), 0);
  for (const char* bad : {"", "x", "20/day", "-1/s", "1e999"}) {
    EXPECT_FALSE(ParseRate(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ferry::server
