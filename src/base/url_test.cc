#include "base/url.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

TEST(RedactUrlTest, HidesPasswordsOnly) {
  EXPECT_EQ(RedactUrl("postgresql://u:pw@h:5432/db"), "postgresql://u:***@h:5432/db");
  EXPECT_EQ(RedactUrl("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(RedactUrl("postgresql://u:p%40ss@h/db?sslmode=require"),
            "postgresql://u:***@h/db?sslmode=require");
  EXPECT_EQ(RedactUrl("postgresql://h/db?password=x&user=u"),
            "postgresql://h/db?password=***&user=u");
  EXPECT_EQ(RedactUrl("mysql://root:a:b@h/db"), "mysql://root:***@h/db");
  EXPECT_EQ(RedactUrl("sqlite:///var/lib/ferry.db"), "sqlite:///var/lib/ferry.db");
  EXPECT_EQ(RedactUrl("/plain/path.db"), "/plain/path.db");
  // An unescaped '/' or '#' in a password does not end the userinfo early.
  EXPECT_EQ(RedactUrl("postgresql://u:p/ss#x@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactUrl("postgresql://u:pw@h/db?password=two"),
            "postgresql://u:***@h/db?password=***");
}

TEST(RedactSecretsOfTest, RemovesTheUrlsPasswordFromAnyText) {
  const std::string url = "postgresql://ferry:topsecret@[::1/db";
  EXPECT_EQ(RedactSecretsOf(url, "invalid IPv6 host address in URI: \"" + url + "\""),
            "invalid IPv6 host address in URI: \"postgresql://ferry:***@[::1/db\"");
  EXPECT_EQ(RedactSecretsOf("postgresql://h/db?password=pw1", "bad pw1 and pw1"),
            "bad *** and ***");
  EXPECT_EQ(RedactSecretsOf("sqlite:///x.db", "no secrets here"), "no secrets here");
}

}  // namespace
}  // namespace ferry
