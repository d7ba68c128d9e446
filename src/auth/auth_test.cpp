// AuthService on both drivers: users, login throttling, sessions, API keys and scopes.

#include <gtest/gtest.h>

#include "auth/auth.h"
#include "storage/test_db.h"

namespace fidelis::auth {
namespace {

class AuthTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    svc_ = std::make_unique<AuthService>(*t_.db, clock_, AuthOptions{.fast_hashing = true});
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<AuthService> svc_;
  audit::Actor cli_ = audit::Actor::cli("test");
};

TEST_P(AuthTest, AddsUsersAndRejectsBadInput) {
  auto u = svc_->add_user(" Admin@Example.FR ", "Ada", Role::kAdmin, "correct horse battery", cli_);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->email, "admin@example.fr");
  auto dup = svc_->add_user("admin@example.fr", "Ada", Role::kAdmin, "correct horse battery", cli_);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Code::kAlreadyExists);
  EXPECT_EQ(dup.error().field, "email");
  auto short_pw = svc_->add_user("b@example.fr", "B", Role::kViewer, "short", cli_);
  ASSERT_FALSE(short_pw);
  EXPECT_EQ(short_pw.error().field, "password");
  auto bad_email = svc_->add_user("not-an-email", "B", Role::kViewer, "long enough pw", cli_);
  ASSERT_FALSE(bad_email);
  EXPECT_EQ(bad_email.error().field, "email");
  auto audit = audit::list(*t_.db, {.entity = "user"});
  ASSERT_TRUE(audit) << audit.error().message;
  EXPECT_EQ(audit->items.size(), 1u);
}

TEST_P(AuthTest, LoginCreatesASessionThatAuthenticates) {
  ASSERT_TRUE(svc_->add_user("a@example.fr", "A", Role::kMarketer, "correct horse battery", cli_));
  auto s = svc_->login("A@example.fr", "correct horse battery", "10.0.0.1");
  ASSERT_TRUE(s) << s.error().message;
  auto p = svc_->authenticate_session(s->token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->role, Role::kMarketer);
  EXPECT_EQ(p->csrf_token, s->csrf_token);
  EXPECT_TRUE(p->may(Permission::kCustomersDelete));
  EXPECT_FALSE(p->may(Permission::kUsersManage));
  clock_.advance(13LL * 3600 * 1000);
  EXPECT_FALSE(svc_->authenticate_session(s->token));
}

TEST_P(AuthTest, LogoutAndDisableEndSessions) {
  ASSERT_TRUE(svc_->add_user("a@example.fr", "A", Role::kAgent, "correct horse battery", cli_));
  auto s1 = svc_->login("a@example.fr", "correct horse battery", "ip");
  auto s2 = svc_->login("a@example.fr", "correct horse battery", "ip");
  ASSERT_TRUE(s1 && s2);
  ASSERT_TRUE(svc_->logout(s1->token));
  EXPECT_FALSE(svc_->authenticate_session(s1->token));
  EXPECT_TRUE(svc_->authenticate_session(s2->token));
  ASSERT_TRUE(svc_->set_user_disabled("a@example.fr", true, cli_));
  EXPECT_FALSE(svc_->authenticate_session(s2->token));
  auto again = svc_->login("a@example.fr", "correct horse battery", "ip");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Code::kUnauthenticated);
  EXPECT_EQ(svc_->set_user_disabled("nobody@example.fr", true, cli_).error().code, Code::kNotFound);
}

TEST_P(AuthTest, ThrottlesPerAccountThenRecoversAfterTheWindow) {
  ASSERT_TRUE(svc_->add_user("a@example.fr", "A", Role::kAgent, "correct horse battery", cli_));
  for (int i = 0; i < 5; ++i) {
    auto r = svc_->login("a@example.fr", "wrong password", "ip" + std::to_string(i));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
  }
  auto blocked = svc_->login("a@example.fr", "correct horse battery", "fresh-ip");
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().code, Code::kResourceExhausted);
  clock_.advance(16 * 60 * 1000);
  EXPECT_TRUE(svc_->login("a@example.fr", "correct horse battery", "fresh-ip"));
}

TEST_P(AuthTest, ThrottlesPerAddressAcrossAccounts) {
  svc_ = std::make_unique<AuthService>(*t_.db, clock_, AuthOptions{.login_max_failures_per_address = 5, .fast_hashing = true});
  for (int i = 0; i < 5; ++i) (void)svc_->login("user" + std::to_string(i) + "@example.fr", "x", "6.6.6.6");
  ASSERT_TRUE(svc_->add_user("b@example.fr", "B", Role::kAgent, "correct horse battery", cli_));
  auto r = svc_->login("b@example.fr", "correct horse battery", "6.6.6.6");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kResourceExhausted);
  EXPECT_TRUE(svc_->login("b@example.fr", "correct horse battery", "7.7.7.7"));
}

TEST_P(AuthTest, RevocationByAnotherProcessTakesEffectWhenTheCacheExpires) {
  auto k = svc_->create_api_key("shop", Role::kAgent, {}, cli_);
  ASSERT_TRUE(k);
  ASSERT_TRUE(svc_->authenticate_api_key(k->secret));
  AuthService other(*t_.db, clock_, AuthOptions{.fast_hashing = true});  // another server process
  ASSERT_TRUE(other.revoke_api_key("shop", cli_));
  EXPECT_TRUE(svc_->authenticate_api_key(k->secret));  // still cached here
  clock_.advance(5001);
  EXPECT_FALSE(svc_->authenticate_api_key(k->secret));
}

TEST_P(AuthTest, ApiKeysCarryRoleAndScopesAndCanBeRevoked) {
  auto k = svc_->create_api_key("shop", Role::kSales, {Permission::kCustomersRead}, cli_);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_TRUE(k->secret.starts_with("fid_" + k->key.prefix + "_"));
  auto p = svc_->authenticate_api_key(k->secret);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->may(Permission::kCustomersRead));
  EXPECT_FALSE(p->may(Permission::kCustomersWrite));  // the role may, the key's scopes do not
  auto bad_scope = svc_->create_api_key("x", Role::kViewer, {Permission::kCustomersWrite}, cli_);
  ASSERT_FALSE(bad_scope);
  EXPECT_EQ(bad_scope.error().field, "scopes");
  EXPECT_EQ(svc_->create_api_key("shop", Role::kViewer, {}, cli_).error().code, Code::kAlreadyExists);
  auto all = svc_->create_api_key("full", Role::kAgent, {}, cli_);
  ASSERT_TRUE(all);
  EXPECT_TRUE(svc_->authenticate_api_key(all->secret)->may(Permission::kCustomersWrite));
  ASSERT_TRUE(svc_->revoke_api_key("shop", cli_));
  EXPECT_FALSE(svc_->authenticate_api_key(k->secret));  // at once in this process, despite the cache
  EXPECT_EQ(svc_->revoke_api_key("shop", cli_).error().code, Code::kNotFound);
  EXPECT_FALSE(svc_->authenticate_api_key("fid_nothing_here"));
}

INSTANTIATE_TEST_SUITE_P(Drivers, AuthTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST(Roles, PermissionsMatrix) {
  EXPECT_TRUE(role_has(Role::kViewer, Permission::kCustomersRead));
  EXPECT_FALSE(role_has(Role::kViewer, Permission::kCustomersWrite));
  EXPECT_TRUE(role_has(Role::kSales, Permission::kCustomersWrite));
  EXPECT_FALSE(role_has(Role::kSales, Permission::kCustomersDelete));
  EXPECT_TRUE(role_has(Role::kAdmin, Permission::kAuditRead));
  EXPECT_TRUE(role_has(Role::kAgent, Permission::kMailRead));
  EXPECT_FALSE(role_has(Role::kAgent, Permission::kMailManage));
  EXPECT_TRUE(role_has(Role::kMarketer, Permission::kMailManage));
  EXPECT_FALSE(role_has(Role::kSales, Permission::kMailRead));
  EXPECT_EQ(parse_permission("mail:manage").value(), Permission::kMailManage);
  EXPECT_FALSE(parse_role("root"));
}

}  // namespace
}  // namespace fidelis::auth
