#pragma once
// Configuration: defaults, then an optional TOML file, then FIDELIS_* environment variables, then
// command-line flags (applied by the CLI). Every key has an environment variable: `db` ->
// FIDELIS_DB, `http.max_body_bytes` -> FIDELIS_HTTP_MAX_BODY_BYTES.

#include <cstdint>
#include <string>

#include "core/result.h"

namespace fidelis {

struct Config {
  std::string db = "sqlite:./fidelis.db";  // sqlite:PATH or postgresql://...
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./fidelis-data";  // uploaded files
  std::string public_url;  // how customers reach this server, for links in e-mails; default http://LISTEN
  std::string log_level = "info";
  int io_threads = 2;           // threads running the HTTP event loop
  int worker_threads = 8;       // threads running handlers (database, hashing)
  int db_pool_size = 8;         // PostgreSQL connections / SQLite readers
  std::string sqlite_synchronous = "NORMAL";  // NORMAL or FULL
  int64_t max_body_bytes = 1 << 20;          // 1 MiB
  int64_t max_header_bytes = 16 << 10;       // 16 KiB
  int64_t request_timeout_ms = 30'000;       // whole request, read to last byte written
  int64_t max_connections = 10'000;
  int64_t session_ttl_ms = 12LL * 3600 * 1000;  // 12 h sliding
  bool secure_cookies = false;                  // set true behind HTTPS
  int login_max_failures = 5;                   // per account, per window
  int login_max_failures_per_address = 50;      // per client address (offices share one), per window
  int64_t login_window_ms = 15LL * 60 * 1000;   // 15 min
  int soft_bounces_before_hard = 3;             // consecutive soft bounces that make an address NPAI
  double npai_alert_rate = 0.04;                // NPAI share that raises the alert
  int64_t npai_alert_min_sent = 100;            // addresses sent to before the alert can fire
  // Duplicates (merging/merging.h): scores in log2 likelihood-ratio units; see docs/DEDUP.md.
  double dedup_review_threshold = 12;           // at or above: queued for review
  double dedup_merge_threshold = 18;            // at or above: merged automatically
  std::string dedup_model_file;                 // m and u per field (dedup::model_from_text); empty: built in
  std::string dedup_survivorship;               // "field=rule,...": changes the default rules
  bool dedup_on_create = true;                  // API creates look for duplicates
  bool email_mx_check = false;                  // check that e-mail domains can receive mail (DNS)
  int64_t email_mx_timeout_ms = 2000;           // per DNS look-up
  std::string email_mx_nameserver;              // "IP[:PORT]"; empty: the system's resolver
  std::string smtp_url;                         // smtp://HOST:PORT or smtps://HOST:PORT; empty: mail stays queued
  std::string smtp_user, smtp_password;         // AUTH when smtp_user is set
  bool smtp_starttls = false;                   // smtp://: refuse to send unless STARTTLS succeeds
  int64_t smtp_timeout_ms = 30'000;             // one SMTP exchange, connection included
  std::string smtp_ca_file;                     // PEM certificates to trust for TLS; empty: the system's
  std::string mail_from = "Fidelis <noreply@fidelis.invalid>";  // "Display Name <address>"
  int mail_max_attempts = 8;                    // attempts before a message fails
  int64_t mail_retry_base_ms = 60'000;          // first retry delay, doubled at each attempt (at most 6 h)
  // Web tracking (docs/TRACKING.md).
  bool tracking_require_consent = false;        // browser events stored only once the page signals consent
  bool tracking_honor_dnt = true;               // DNT: 1 / Sec-GPC: 1 from a browser: nothing stored
  std::string tracking_user_id_source = "shop"; // external-id source a Segment userId is looked up in

  // Reads `path` (TOML) if non-empty, then the environment. InvalidArgument names the bad key.
  static Result<Config> load(const std::string& path);
};

}  // namespace fidelis
