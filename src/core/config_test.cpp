// Configuration: defaults, a TOML file, then FIDELIS_* environment variables, each bad value named.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"

namespace fidelis {
namespace {

std::string write_toml(const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("fidelis_config_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(Config, DefaultsFileThenEnvironment) {
  auto defaults = Config::load("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->db, "sqlite:./fidelis.db");
  EXPECT_EQ(defaults->max_body_bytes, 1 << 20);

  std::string path = write_toml("db = \"postgresql://x@db/fidelis\"\n[http]\nmax_body_bytes = 2048\n[npai]\nalert_rate = 0.05\n");
  auto file = Config::load(path);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->db, "postgresql://x@db/fidelis");
  EXPECT_EQ(file->max_body_bytes, 2048);
  EXPECT_DOUBLE_EQ(file->npai_alert_rate, 0.05);

  ::setenv("FIDELIS_HTTP_MAX_BODY_BYTES", "4096", 1);
  auto env = Config::load(path);
  ::unsetenv("FIDELIS_HTTP_MAX_BODY_BYTES");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->max_body_bytes, 4096);  // the environment wins over the file
}

TEST(Config, BadValuesNameTheirKey) {
  ::setenv("FIDELIS_HTTP_MAX_BODY_BYTES", "lots", 1);
  auto r = Config::load("");
  ::unsetenv("FIDELIS_HTTP_MAX_BODY_BYTES");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "http.max_body_bytes");
  auto bad_type = Config::load(write_toml("listen = 8080\n"));
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().field, "listen");
  auto broken = Config::load(write_toml("db = \"unterminated\n"));
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().field, "config");
  ::setenv("FIDELIS_SQLITE_SYNCHRONOUS", "OFF", 1);
  auto sync = Config::load("");
  ::unsetenv("FIDELIS_SQLITE_SYNCHRONOUS");
  EXPECT_EQ(sync.error().field, "sqlite_synchronous");
}

TEST(Config, MailKeys) {
  auto defaults = Config::load("");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->smtp_url, "");  // sending disabled until configured
  EXPECT_EQ(defaults->mail_max_attempts, 8);
  auto file = Config::load(write_toml("smtp_url = \"smtps://mail.exemple.fr:465\"\nsmtp_user = \"boutique\"\n"
                                      "smtp_starttls = true\nmail_from = \"Boutique Exemple <noreply@exemple.fr>\"\n"
                                      "mail_max_attempts = 5\nmail_retry_base_ms = 30000\nsmtp_timeout_ms = 5000\n"));
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->smtp_url, "smtps://mail.exemple.fr:465");
  EXPECT_EQ(file->smtp_user, "boutique");
  EXPECT_TRUE(file->smtp_starttls);
  EXPECT_EQ(file->mail_from, "Boutique Exemple <noreply@exemple.fr>");
  EXPECT_EQ(file->mail_max_attempts, 5);
  EXPECT_EQ(file->mail_retry_base_ms, 30000);
  EXPECT_EQ(file->smtp_timeout_ms, 5000);
  ::setenv("FIDELIS_SMTP_URL", "smtp://127.0.0.1:2525", 1);
  ::setenv("FIDELIS_SMTP_PASSWORD", "secret", 1);
  auto env = Config::load("");
  ::unsetenv("FIDELIS_SMTP_URL");
  ::unsetenv("FIDELIS_SMTP_PASSWORD");
  ASSERT_TRUE(env);
  EXPECT_EQ(env->smtp_url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(env->smtp_password, "secret");
  ::setenv("FIDELIS_SMTP_STARTTLS", "yes", 1);
  auto bad = Config::load("");
  ::unsetenv("FIDELIS_SMTP_STARTTLS");
  EXPECT_EQ(bad.error().field, "smtp_starttls");
}

}  // namespace
}  // namespace fidelis
