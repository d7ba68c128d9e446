// Configuration: defaults, a TOML file, then FIDELIS_* environment variables, each bad value named.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"

namespace fidelis {
namespace {

std::string write_toml(const std::string& text) {
  static const auto path = std::filesystem::temp_directory_path() / ("fidelis_config_" + std::to_string(::getpid()) + ".toml");
  // Removed when the tests end.
  static const struct Remove {
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  } remove;
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

TEST(Config, ValuesOutOfTheirRangeNameTheirKey) {
  struct Case {
    const char* env;
    const char* value;
    const char* key;
  } cases[] = {
      {"FIDELIS_NPAI_SOFT_BOUNCES_BEFORE_HARD", "0", "npai.soft_bounces_before_hard"},
      {"FIDELIS_NPAI_SOFT_BOUNCES_BEFORE_HARD", "-2", "npai.soft_bounces_before_hard"},
      {"FIDELIS_NPAI_ALERT_MIN_SENT", "-5", "npai.alert_min_sent"},
      {"FIDELIS_NPAI_ALERT_RATE", "nan", "npai.alert_rate"},
      {"FIDELIS_NPAI_ALERT_RATE", "0", "npai.alert_rate"},
      {"FIDELIS_HTTP_REQUEST_TIMEOUT_MS", "-1", "http.request_timeout_ms"},
      {"FIDELIS_HTTP_MAX_BODY_BYTES", "0", "http.max_body_bytes"},
      {"FIDELIS_IO_THREADS", "0", "io_threads"},
      {"FIDELIS_MAIL_MAX_ATTEMPTS", "101", "mail_max_attempts"},
      {"FIDELIS_EMAIL_MX_TIMEOUT_MS", "50", "email.mx_timeout_ms"},
  };
  for (const Case& c : cases) {
    ::setenv(c.env, c.value, 1);
    auto r = Config::load("");
    ::unsetenv(c.env);
    ASSERT_FALSE(r) << c.env << "=" << c.value;
    EXPECT_EQ(r.error().field, c.key);
  }
  auto in_file = Config::load(write_toml("[npai]\nsoft_bounces_before_hard = 0\n"));
  ASSERT_FALSE(in_file);
  EXPECT_EQ(in_file.error().field, "npai.soft_bounces_before_hard");
  EXPECT_NE(in_file.error().message.find("between 1 and 100"), std::string::npos) << in_file.error().message;
  ::setenv("FIDELIS_NPAI_SOFT_BOUNCES_BEFORE_HARD", "1", 1);
  auto edge = Config::load("");
  ::unsetenv("FIDELIS_NPAI_SOFT_BOUNCES_BEFORE_HARD");
  ASSERT_TRUE(edge);
  EXPECT_EQ(edge->soft_bounces_before_hard, 1);
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
