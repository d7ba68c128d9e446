#include "core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <functional>
#include <string_view>
#include <vector>

namespace fidelis {
namespace {

std::string fmt_range(std::string_view what, double lo, double hi) {
  return fmt::format("expected {} {} and {}", what, lo, hi);
}

struct Key {
  std::string_view name;  // dotted TOML key
  std::function<Status(Config&, const std::string&)> set_text;
  std::function<Status(Config&, const toml::node&)> set_toml;
};

Status parse_int(std::string_view key, const std::string& v, int64_t& out) {
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0')
    return Error::invalid_argument(std::string(key), "expected an integer, got '" + v + "'");
  out = n;
  return ok();
}

// An integer in [lo, hi]: a value outside stops the start, naming the key (a soft-bounce count of
// 0 or a negative timeout would otherwise be taken silently).
template <typename T>
Key int_key(std::string_view name, T Config::*member, int64_t lo, int64_t hi) {
  auto check = [=](int64_t n) -> Status {
    if (n < lo || n > hi)
      return Error::invalid_argument(std::string(name), fmt::format("expected an integer between {} and {}", lo, hi));
    return ok();
  };
  return Key{name,
             [=](Config& c, const std::string& v) -> Status {
               int64_t n = 0;
               FIDELIS_RETURN_IF_ERROR(parse_int(name, v, n));
               FIDELIS_RETURN_IF_ERROR(check(n));
               c.*member = static_cast<T>(n);
               return ok();
             },
             [=](Config& c, const toml::node& n) -> Status {
               auto v = n.value<int64_t>();
               if (!v) return Error::invalid_argument(std::string(name), "expected an integer");
               FIDELIS_RETURN_IF_ERROR(check(*v));
               c.*member = static_cast<T>(*v);
               return ok();
             }};
}

Key string_key(std::string_view name, std::string Config::*member) {
  return Key{name,
             [member](Config& c, const std::string& v) -> Status {
               c.*member = v;
               return ok();
             },
             [name, member](Config& c, const toml::node& n) -> Status {
               auto v = n.value<std::string>();
               if (!v) return Error::invalid_argument(std::string(name), "expected a string");
               c.*member = *v;
               return ok();
             }};
}

Key bool_key(std::string_view name, bool Config::*member) {
  return Key{name,
             [name, member](Config& c, const std::string& v) -> Status {
               if (v == "1" || v == "true") c.*member = true;
               else if (v == "0" || v == "false") c.*member = false;
               else return Error::invalid_argument(std::string(name), "expected true or false");
               return ok();
             },
             [name, member](Config& c, const toml::node& n) -> Status {
               auto v = n.value<bool>();
               if (!v) return Error::invalid_argument(std::string(name), "expected true or false");
               c.*member = *v;
               return ok();
             }};
}

// A number in (lo, hi) when `open`, else in [lo, hi].
Key double_key(std::string_view name, double Config::*member, double lo, double hi, bool open) {
  auto check = [=](double d) -> Status {
    // Written so that NaN, which compares false with everything, is refused too.
    if (open ? !(d > lo && d < hi) : !(d >= lo && d <= hi))
      return Error::invalid_argument(std::string(name), open ? fmt_range("a number strictly between", lo, hi)
                                                             : fmt_range("a number between", lo, hi));
    return ok();
  };
  return Key{name,
             [=](Config& c, const std::string& v) -> Status {
               char* end = nullptr;
               double d = std::strtod(v.c_str(), &end);
               if (v.empty() || *end != '\0') return Error::invalid_argument(std::string(name), "expected a number, got '" + v + "'");
               FIDELIS_RETURN_IF_ERROR(check(d));
               c.*member = d;
               return ok();
             },
             [=](Config& c, const toml::node& n) -> Status {
               auto d = n.value<double>();
               if (!d) return Error::invalid_argument(std::string(name), "expected a number");
               FIDELIS_RETURN_IF_ERROR(check(*d));
               c.*member = *d;
               return ok();
             }};
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      string_key("db", &Config::db),
      string_key("listen", &Config::listen),
      string_key("data_dir", &Config::data_dir),
      string_key("public_url", &Config::public_url),
      string_key("log_level", &Config::log_level),
      int_key("io_threads", &Config::io_threads, 1, 256),
      int_key("worker_threads", &Config::worker_threads, 1, 1024),
      int_key("db_pool_size", &Config::db_pool_size, 1, 1024),
      string_key("sqlite_synchronous", &Config::sqlite_synchronous),
      int_key("http.max_body_bytes", &Config::max_body_bytes, 1024, int64_t{1} << 30),
      int_key("http.max_header_bytes", &Config::max_header_bytes, 1024, int64_t{1} << 20),
      int_key("http.request_timeout_ms", &Config::request_timeout_ms, 100, 3'600'000),
      int_key("http.max_connections", &Config::max_connections, 1, 1'000'000),
      int_key("auth.session_ttl_ms", &Config::session_ttl_ms, 60'000, 31LL * 86'400'000),
      bool_key("auth.secure_cookies", &Config::secure_cookies),
      int_key("auth.login_max_failures", &Config::login_max_failures, 1, 1000),
      int_key("auth.login_max_failures_per_address", &Config::login_max_failures_per_address, 1, 100'000),
      int_key("auth.login_window_ms", &Config::login_window_ms, 1000, 86'400'000),
      int_key("npai.soft_bounces_before_hard", &Config::soft_bounces_before_hard, 1, 100),
      int_key("npai.alert_min_sent", &Config::npai_alert_min_sent, 0, 1'000'000'000),
      double_key("npai.alert_rate", &Config::npai_alert_rate, 0, 1, true),
      double_key("dedup.review_threshold", &Config::dedup_review_threshold, -100, 200, false),
      double_key("dedup.merge_threshold", &Config::dedup_merge_threshold, -100, 200, false),
      string_key("dedup.survivorship", &Config::dedup_survivorship),
      string_key("dedup.model_file", &Config::dedup_model_file),
      bool_key("dedup.on_create", &Config::dedup_on_create),
      bool_key("email.mx_check", &Config::email_mx_check),
      int_key("email.mx_timeout_ms", &Config::email_mx_timeout_ms, 100, 30'000),
      string_key("email.mx_nameserver", &Config::email_mx_nameserver),
      string_key("smtp_url", &Config::smtp_url),
      string_key("smtp_user", &Config::smtp_user),
      string_key("smtp_password", &Config::smtp_password),
      bool_key("smtp_starttls", &Config::smtp_starttls),
      int_key("smtp_timeout_ms", &Config::smtp_timeout_ms, 100, 600'000),
      string_key("smtp_ca_file", &Config::smtp_ca_file),
      string_key("mail_from", &Config::mail_from),
      int_key("mail_max_attempts", &Config::mail_max_attempts, 1, 100),
      int_key("mail_retry_base_ms", &Config::mail_retry_base_ms, 100, 21'600'000),
      bool_key("tracking.require_consent", &Config::tracking_require_consent),
      bool_key("tracking.honor_dnt", &Config::tracking_honor_dnt),
      string_key("tracking.user_id_source", &Config::tracking_user_id_source),
  };
  return k;
}

std::string env_name(std::string_view key) {
  std::string out = "FIDELIS_";
  for (char c : key) out += c == '.' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  return out;
}

}  // namespace

Result<Config> Config::load(const std::string& path) {
  Config c;
  if (!path.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return Error::invalid_argument("config", "cannot read " + path + ": " + std::string(e.description()));
    }
    for (const Key& k : keys()) {
      if (auto node = table.at_path(k.name); node) FIDELIS_RETURN_IF_ERROR(k.set_toml(c, *node.node()));
    }
  }
  for (const Key& k : keys()) {
    if (const char* v = std::getenv(env_name(k.name).c_str()); v != nullptr)
      FIDELIS_RETURN_IF_ERROR(k.set_text(c, v));
  }
  if (c.sqlite_synchronous != "NORMAL" && c.sqlite_synchronous != "FULL")
    return Error::invalid_argument("sqlite_synchronous", "expected NORMAL or FULL");
  if (c.dedup_review_threshold > c.dedup_merge_threshold)
    return Error::invalid_argument("dedup.review_threshold", "must not be above dedup.merge_threshold");
  return c;
}

}  // namespace fidelis
