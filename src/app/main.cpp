// Entry point and the server's wiring: config -> database -> services -> API -> HTTP server.

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <mutex>

#include "app/app.h"
#include "auth/auth.h"
#include "core/log.h"
#include "customers/customers.h"
#include "http/api.h"
#include "storage/migrate.h"

namespace fidelis::app {

Result<merging::Options> merge_options(const Config& config) {
  merging::Options o;
  dedup::Thresholds thresholds{config.dedup_review_threshold, config.dedup_merge_threshold};
  o.model = dedup::Model::default_french().with_thresholds(thresholds);
  if (!config.dedup_model_file.empty()) {
    std::ifstream file(config.dedup_model_file, std::ios::binary);
    if (!file) return Error::invalid_argument("dedup.model_file", "cannot read " + config.dedup_model_file);
    std::stringstream text;
    text << file.rdbuf();
    auto model = dedup::model_from_text(text.str(), thresholds);
    if (!model) return Error::invalid_argument("dedup.model_file", config.dedup_model_file + ": " + model.error().field + ": " +
                                                                       model.error().message);
    o.model = *model;
  }
  auto rules = merging::parse_rules(config.dedup_survivorship);
  if (!rules) return Error::invalid_argument("dedup.survivorship", rules.error().message);
  o.rules = *rules;
  return o;
}

mail::MailOptions mail_options(const Config& c) {
  return {.smtp = {.url = c.smtp_url,
                   .user = c.smtp_user,
                   .password = c.smtp_password,
                   .require_starttls = c.smtp_starttls,
                   .timeout_ms = c.smtp_timeout_ms,
                   .ca_file = c.smtp_ca_file},
          .from = c.mail_from,
          .max_attempts = c.mail_max_attempts,
          .retry_base_ms = c.mail_retry_base_ms};
}

std::unique_ptr<MxChecker> mx_checker(const Config& config) {
  if (!config.email_mx_check) return nullptr;
  return std::make_unique<MxChecker>(MxChecker::Options{.timeout_ms = static_cast<int>(config.email_mx_timeout_ms),
                                                        .nameserver = config.email_mx_nameserver});
}

tracking::Options tracking_options(const Config& c) {
  return {.require_consent = c.tracking_require_consent, .honor_dnt = c.tracking_honor_dnt};
}

deliverability::Options deliverability_options(const Config& c) {
  return {c.soft_bounces_before_hard, c.npai_alert_rate, c.npai_alert_min_sent};
}

int serve(const Config& config) {
  SystemClock clock;
  // On SQLite every I/O and worker thread may hold a reader at once: never make one wait for another.
  int pool = config.db.starts_with("sqlite:") ? std::max(config.db_pool_size, config.io_threads + config.worker_threads)
                                              : config.db_pool_size;
  auto db = storage::Db::open(config.db, {.pool_size = pool, .sqlite_synchronous = config.sqlite_synchronous});
  if (!db) {
    log::error("cannot open the database", {{"db", config.db}, {"error", db.error().message}});
    return 1;
  }
  if (auto applied = storage::migrate(**db, clock.now()); !applied) {
    log::error("migration failed", {{"error", applied.error().message}});
    return 1;
  } else if (!applied->empty()) {
    log::info("migrations applied", {{"count", std::to_string(applied->size())}});
  }
  if (Status up = customers::upgrade_stored_phones(**db, clock); !up) {
    log::error("reading stored phone numbers failed", {{"error", up.error().message}});
    return 1;
  }
  if (Status up = customers::upgrade_stored_emails(**db); !up) {
    log::error("keying stored e-mail addresses failed", {{"error", up.error().message}});
    return 1;
  }
  auth::AuthService auth(**db, clock,
                         {.session_ttl_ms = config.session_ttl_ms,
                          .login_max_failures = config.login_max_failures,
                          .login_max_failures_per_address = config.login_max_failures_per_address,
                          .login_window_ms = config.login_window_ms});
  std::unique_ptr<MxChecker> mx = mx_checker(config);
  customers::CustomerService customers(**db, clock, mx.get());
  auto options = merge_options(config);
  if (!options) {
    log::error("bad configuration", {{"key", options.error().field}, {"error", options.error().message}});
    return 2;
  }
  merging::MergeService merges(**db, clock, *options);
  imports::ImportRunner import_runner(**db, clock, *options, mx.get());
  imports::Uploads uploads(config.data_dir);
  questionnaires::QuestionnaireService questionnaires(**db, clock, customers);
  deliverability::DeliverabilityService deliverability(**db, clock, deliverability_options(config));
  DeliverabilityRecipients recipients(deliverability);
  commerce::CatalogueService catalogue(**db, clock);
  tracking::TrackingService tracking(**db, clock, tracking_options(config));
  timeline::InteractionService interactions(**db, clock);
  timeline::TimelineService timeline(**db);
  mail::MailOptions mail_opts = mail_options(config);
  mail_opts.recipients = &recipients;
  auto mail = mail::MailService::create(**db, clock, mail_opts);
  if (!mail) {
    log::error("bad mail configuration", {{"key", mail.error().field}, {"error", mail.error().message}});
    return 2;
  }
  mail::MailWorker mail_worker(**mail);
  if (!(*mail)->sending_enabled()) log::info("mail sending is disabled: smtp_url is not set; messages stay queued");
  std::string public_url = config.public_url.empty() ? "http://" + config.listen : config.public_url;
  while (public_url.ends_with('/')) public_url.pop_back();
  commerce::OrderService* orders_ptr = nullptr;
  commerce::OrderEvents order_events;
  order_events.on_transition = [&orders_ptr, &public_url](storage::Tx& tx, const commerce::Order& o,
                                                          std::string_view event, Millis now) -> Status {
    return queue_order_mail(tx, *orders_ptr, public_url, o, event, now);
  };
  commerce::OrdersOptions orders_options;
  orders_options.match_model = options->model;
  commerce::OrderService orders(**db, clock, order_events, orders_options);
  orders_ptr = &orders;
  // The tracking link key is made now, not inside an order's transaction.
  if (auto t = orders.tracking_token(0); !t) {
    log::error("cannot prepare order tracking links", {{"error", t.error().message}});
    return 1;
  }
  commerce::SlotService slots(**db, clock);
  if (auto r = deliverability.rates(); !r) log::warn("cannot compute the NPAI rate", {{"error", r.error().message}});
  if (auto st = import_runner.resume_unfinished(); !st)
    log::warn("cannot resume unfinished imports", {{"error", st.error().message}});

  auto colon = config.listen.rfind(':');
  if (colon == std::string::npos) {
    log::error("listen must be HOST:PORT", {{"listen", config.listen}});
    return 2;
  }
  http::ServerOptions opts;
  opts.host = config.listen.substr(0, colon);
  if (opts.host.size() > 2 && opts.host.front() == '[') opts.host = opts.host.substr(1, opts.host.size() - 2);
  const std::string port = config.listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) > 65535) {
    log::error("listen must be HOST:PORT, the port a number from 0 to 65535", {{"listen", config.listen}});
    return 2;
  }
  opts.port = static_cast<uint16_t>(std::stoi(port));
  opts.io_threads = config.io_threads;
  opts.worker_threads = config.worker_threads;
  opts.max_body_bytes = config.max_body_bytes;
  opts.max_header_bytes = config.max_header_bytes;
  opts.request_timeout_ms = config.request_timeout_ms;
  opts.max_connections = config.max_connections;

  http::Server* server_ptr = nullptr;
  http::Api api({**db, clock, config, auth, customers, import_runner, uploads, questionnaires, deliverability, catalogue,
                 merges, **mail, orders, slots, tracking, interactions, timeline, [&server_ptr] {
                   return server_ptr != nullptr ? server_ptr->stats() : http::ServerStats{};
                 }});
  http::Server server(
      opts, [&api](const http::Request& r) { return api.handle(r); },
      [&api](std::string_view m, std::string_view p) { return api.blocking(m, p); });
  server_ptr = &server;
  if (auto st = server.start(); !st) {
    log::error("cannot start the server", {{"error", st.error().message}});
    return 1;
  }
  server.handle_signals();
  mail_worker.start();
  std::string url = fmt::format("http://{}:{}", opts.host, server.port());
  log::info("listening", {{"url", url}, {"db", config.db.starts_with("postgres") ? "postgresql" : config.db}});
  std::printf("listening on %s\n", url.c_str());
  std::fflush(stdout);
  server.wait();
  mail_worker.stop();
  import_runner.stop();
  log::info("stopped");
  return 0;
}

}  // namespace fidelis::app

int main(int argc, char** argv) { return fidelis::app::run(argc, argv); }
