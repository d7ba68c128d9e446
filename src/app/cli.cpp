// Subcommands: serve, migrate, user, apikey, demo, import (customers, interactions), export, dedup, mail, routes.

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <fstream>
#include <utility>
#include <sys/resource.h>

#include "app/app.h"
#include "auth/auth.h"
#include "core/log.h"
#include "core/text.h"
#include "customers/customers.h"
#include "commerce/commerce.h"
#include "dedup/dedup.h"
#include "imports/imports.h"
#include "timeline/timeline.h"
#include "http/api.h"
#include "storage/migrate.h"

namespace fidelis::app {

namespace {

// Prints an error to stderr as "error: FIELD: message" and returns the exit status for it.
int fail(const Error& e) {
  if (e.field.empty()) std::fprintf(stderr, "error: %s\n", e.message.c_str());
  else std::fprintf(stderr, "error: %s: %s\n", e.field.c_str(), e.message.c_str());
  return e.code == Code::kInvalidArgument ? 2 : 1;
}

Result<std::unique_ptr<storage::Db>> open_migrated(const Config& c, const Clock& clock) {
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<storage::Db> db,
                           storage::Db::open(c.db, {.pool_size = c.db_pool_size, .sqlite_synchronous = c.sqlite_synchronous}));
  FIDELIS_RETURN_IF_ERROR(storage::migrate(*db, clock.now()));
  FIDELIS_RETURN_IF_ERROR(customers::upgrade_stored_phones(*db, clock));
  FIDELIS_RETURN_IF_ERROR(customers::upgrade_stored_emails(*db));
  return db;
}

audit::Actor cli_actor() {
  const char* user = std::getenv("USER");
  return audit::Actor::cli(user != nullptr ? user : "cli");
}

std::string generated_password() {
  // 18 random URL-safe characters: ~108 bits.
  return auth::random_token().substr(0, 18);
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App cli{"Fidelis: the e-CRM server. Every option has a FIDELIS_* environment variable (db -> FIDELIS_DB)."};
  cli.require_subcommand(1);
  std::string config_path, db_flag, log_level;
  cli.add_option("--config", config_path, "TOML configuration file")->envname("FIDELIS_CONFIG");
  cli.add_option("--db", db_flag, "sqlite:PATH (default sqlite:./fidelis.db) or postgresql://user@host:port/db");
  cli.add_option("--log-level", log_level, "debug, info, warn or error");

  auto* serve_cmd = cli.add_subcommand("serve", "Apply pending migrations and serve the HTTP API");
  std::string listen;
  serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 picks one)");

  auto* migrate_cmd = cli.add_subcommand("migrate", "Apply pending schema migrations and exit");

  auto* user_cmd = cli.add_subcommand("user", "Manage back-office users");
  user_cmd->require_subcommand(1);
  auto* user_add = user_cmd->add_subcommand("add", "Create a user; prints the password when it was generated");
  std::string u_email, u_name, u_role = "viewer", u_password;
  user_add->add_option("--email", u_email, "login e-mail")->required();
  user_add->add_option("--name", u_name, "display name");
  user_add->add_option("--role", u_role, "admin, marketer, agent, sales or viewer")->capture_default_str();
  user_add->add_option("--password", u_password, "at least 10 characters; generated when omitted")
      ->envname("FIDELIS_NEW_USER_PASSWORD");
  auto* user_list = user_cmd->add_subcommand("list", "List users");
  auto* user_disable = user_cmd->add_subcommand("disable", "Disable a user and end their sessions");
  user_disable->add_option("--email", u_email, "login e-mail")->required();
  auto* user_enable = user_cmd->add_subcommand("enable", "Enable a disabled user");
  user_enable->add_option("--email", u_email, "login e-mail")->required();

  auto* key_cmd = cli.add_subcommand("apikey", "Manage API keys for integrations");
  key_cmd->require_subcommand(1);
  auto* key_create = key_cmd->add_subcommand("create", "Create an API key; the key is printed alone on the last line");
  std::string k_name, k_role = "viewer";
  std::vector<std::string> k_scopes;
  key_create->add_option("--name", k_name, "a unique name, e.g. the integration's")->required();
  key_create->add_option("--role", k_role, "admin, marketer, agent, sales or viewer")->capture_default_str();
  key_create->add_option("--scopes", k_scopes, "comma-separated scopes (default: all of the role's)")->delimiter(',');
  auto* key_revoke = key_cmd->add_subcommand("revoke", "Revoke an API key");
  key_revoke->add_option("--name", k_name, "the key's name")->required();
  key_cmd->add_subcommand("list", "List API keys (never the keys themselves)");

  auto* demo_cmd = cli.add_subcommand("demo", "Generate plausible French demo customers");
  int64_t demo_count = 1000;
  uint64_t demo_seed = 42;
  demo_cmd->add_option("--customers", demo_count, "how many customers")->capture_default_str();
  demo_cmd->add_option("--seed", demo_seed, "random seed (same seed, same data)")->capture_default_str();

  auto* import_cmd = cli.add_subcommand("import", "Import customers or order history from a file");
  import_cmd->require_subcommand(1);
  auto* import_customers = import_cmd->add_subcommand(
      "customers", "Import a CSV file of customers (',' or ';', UTF-8 or Windows-1252); rerunning resumes");
  std::string i_file, i_source, i_mapping, i_country = "FR", i_rejects;
  std::optional<int> i_priority;
  bool i_no_dedup = false, i_dry_run = false;
  int64_t i_batch = 20000;
  std::string i_bulk = "auto";
  std::vector<std::string> i_consents;
  import_customers->add_option("FILE", i_file, "the CSV file")->required();
  import_customers->add_option("--source", i_source, "the system the file comes from, e.g. prestashop")->required();
  import_customers->add_option("--mapping", i_mapping, "JSON file, or JSON: {\"column header\": \"field\", ...}");
  import_customers->add_option("--default-country", i_country, "country for addresses without one")->capture_default_str();
  import_customers->add_option("--priority", i_priority, "merge priority of the source, 0..100 (default 50, kept)");
  import_customers->add_option("--consent", i_consents,
                               "CHANNEL:PURPOSE every row gives unless a column of the row says otherwise, e.g. "
                               "email:newsletter for a newsletter tool's list of subscribers (repeatable)");
  import_customers->add_option("--rejects", i_rejects, "where to write rejected rows (default FILE.rejects.csv)");
  import_customers->add_option("--batch", i_batch, "rows per transaction")->capture_default_str();
  import_customers->add_flag("--no-dedup", i_no_dedup, "no duplicate matching: every row is a new customer, except a row with the id of a customer in the same source, which updates it");
  import_customers->add_option("--bulk", i_bulk,
                               "auto, on or off: set the search indexes aside while loading and rebuild them at the end "
                               "(auto: files of 100 000 rows or more, at least as large as the base; SQLite)")
      ->capture_default_str();
  import_customers->add_flag("--dry-run", i_dry_run, "show the first rows as they would be stored, change nothing");

  auto* import_orders_cmd = import_cmd->add_subcommand(
      "orders", "Import order history from a CSV file: one line per order line, the lines of an order consecutive");
  std::string o_file, o_source = "import", o_rejects, o_currency = "EUR";
  import_orders_cmd->add_option("FILE", o_file, "the CSV file")->required();
  import_orders_cmd->add_option("--source", o_source, "the system the file comes from, e.g. prestashop")->capture_default_str();
  import_orders_cmd->add_option("--currency", o_currency, "currency of orders without a currency column")->capture_default_str();
  import_orders_cmd->add_option("--rejects", o_rejects, "where to write rejected lines (default FILE.rejects.csv)");
  auto* import_interactions = import_cmd->add_subcommand(
      "interactions", "Import a CSV file of interactions (calls, meetings, letters...); refused rows go to a rejects file");
  std::string ii_file, ii_rejects;
  import_interactions->add_option("FILE", ii_file, "the CSV file")->required();
  import_interactions->add_option("--rejects", ii_rejects, "where to write refused rows (default FILE.rejects.csv)");

  auto* export_cmd = cli.add_subcommand("export", "Export data");
  export_cmd->require_subcommand(1);
  auto* export_customers_cmd = export_cmd->add_subcommand("customers", "Export customers, streaming");
  std::string e_format = "csv", e_output;
  bool e_deleted = false;
  export_customers_cmd->add_option("--format", e_format, "csv, csv-excel-fr (';', BOM, for French Excel) or jsonl")
      ->capture_default_str();
  export_customers_cmd->add_option("--output", e_output, "file to write (default: standard output)");
  export_customers_cmd->add_flag("--include-deleted", e_deleted, "also export deleted customers");

  auto* dedup_cmd = cli.add_subcommand(
      "dedup",
      "Deduplicate the whole base: merge sure duplicates, queue doubtful pairs for review, with progress. "
      "--pairs OUT.csv only writes the pairs with their scores and changes nothing; --estimate OUT.txt "
      "estimates the model's weights from the base and writes them for dedup.model_file");
  std::string d_pairs, d_estimate;
  unsigned d_threads = 2;
  bool d_dry_run = false;
  dedup_cmd->add_option("--pairs", d_pairs, "CSV to write: external_id_a,external_id_b,score,decision");
  dedup_cmd->add_flag("--dry-run", d_dry_run, "count what would be merged and queued; change nothing");
  dedup_cmd->add_option("--estimate", d_estimate,
                        "model file to write: m and u per field estimated (EM) from the base's candidate pairs");
  dedup_cmd->add_option("--threads", d_threads, "threads for scoring")->capture_default_str();

  auto* mail_cmd = cli.add_subcommand("mail", "Transactional e-mail");
  mail_cmd->require_subcommand(1);
  auto* mail_send = mail_cmd->add_subcommand(
      "send-pending", "Send every queued message that is due (smtp_url must be set), then exit; for cron and tests");

  auto* routes_cmd = cli.add_subcommand("routes", "Print the API routes and the permission each needs, as JSON");

  auto* phones_cmd = cli.add_subcommand("phones", "Stored phone numbers");
  phones_cmd->require_subcommand(1);
  auto* phones_recheck = phones_cmd->add_subcommand(
      "recheck", "Read every stored phone number again under the current rules and libphonenumber's plan; rewrite "
                 "those that read otherwise (E.164, validity, type), flag those now invalid");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  auto loaded = Config::load(config_path);
  if (!loaded) return fail(loaded.error());
  Config config = *loaded;
  if (!db_flag.empty()) config.db = db_flag;
  if (!log_level.empty()) config.log_level = log_level;
  if (!listen.empty()) config.listen = listen;
  log::Level level;
  if (!log::parse_level(config.log_level, level)) return fail(Error::invalid_argument("log_level", "expected debug, info, warn or error"));
  log::set_level(level);

  if (*serve_cmd) return serve(config);

  SystemClock clock;
  if (*routes_cmd) {
    // Routes do not touch the database until called; wire them on a throwaway SQLite file.
    char tmpl[] = "/tmp/fidelis-routes-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return fail(Error::internal("cannot create a temp directory"));
    auto db = storage::Db::open(std::string("sqlite:") + tmpl + "/r.db");
    if (!db) return fail(db.error());
    auth::AuthService auth(**db, clock, {.fast_hashing = true});
    customers::CustomerService customers(**db, clock);
    imports::ImportRunner runner(**db, clock);
    imports::Uploads uploads(tmpl);
    questionnaires::QuestionnaireService questionnaires(**db, clock, customers);
    deliverability::DeliverabilityService deliverability(**db, clock);
    commerce::CatalogueService catalogue(**db, clock);
    merging::MergeService merges(**db, clock);
    auto mail = mail::MailService::create(**db, clock, {});
    if (!mail) return fail(mail.error());
    commerce::OrderService orders(**db, clock);
    commerce::SlotService slots(**db, clock);
    tracking::TrackingService tracking(**db, clock, tracking_options(config));
    timeline::InteractionService interactions(**db, clock);
    timeline::TimelineService timeline(**db);
    http::Api api({**db, clock, config, auth, customers, runner, uploads, questionnaires, deliverability, catalogue,
                   merges, **mail, orders, slots, tracking, interactions, timeline, {}});
    http::Json out = http::Json::array();
    for (const auto& r : api.router().routes()) {
      http::Json roles = http::Json::array();
      for (auto role : auth::kAllRoles)
        if (!r.permission || auth::role_has(role, *r.permission)) roles.push_back(auth::role_name(role));
      out.push_back({{"method", r.method},
                     {"path", r.pattern},
                     {"operation_id", r.operation_id},
                     {"permission", r.permission ? http::Json(auth::permission_name(*r.permission)) : http::Json(nullptr)},
                     {"public", !r.permission && !r.authenticated_only},
                     {"roles", roles}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    std::filesystem::remove_all(tmpl);
    return 0;
  }

  auto db = open_migrated(config, clock);
  if (!db) return fail(db.error());
  if (*migrate_cmd) {
    std::printf("database is up to date\n");
    return 0;
  }

  if (*phones_cmd && phones_recheck->parsed()) {
    customers::CustomerService svc(**db, clock);
    auto done = svc.recheck_phones(/*all=*/true, cli_actor());
    if (!done) return fail(done.error());
    std::printf("%lld phone numbers read, %lld rewritten, %lld customers updated\n",
                static_cast<long long>(done->phones_read), static_cast<long long>(done->phones_changed),
                static_cast<long long>(done->customers_changed));
    return 0;
  }

  if (*mail_cmd && mail_send->parsed()) {
    deliverability::DeliverabilityService deliverability(**db, clock, deliverability_options(config));
    DeliverabilityRecipients recipients(deliverability);
    mail::MailOptions options = mail_options(config);
    options.recipients = &recipients;
    auto mail = mail::MailService::create(**db, clock, options);
    if (!mail) return fail(mail.error());
    auto report = (*mail)->send_pending();
    if (!report) return fail(report.error());
    std::printf("%d sent, %d to retry later, %d failed\n", report->sent, report->retrying, report->failed);
    return 0;
  }

  if (*user_cmd) {
    auth::AuthService auth(**db, clock, {});
    if (*user_add) {
      auto role = auth::parse_role(u_role);
      if (!role) return fail(role.error());
      bool generated = u_password.empty();
      if (generated) u_password = generated_password();
      auto u = auth.add_user(u_email, u_name, *role, u_password, cli_actor());
      if (!u) return fail(u.error());
      std::printf("created user %s (%s)\n", u->email.c_str(), std::string(auth::role_name(u->role)).c_str());
      if (generated) std::printf("password: %s\n", u_password.c_str());
      return 0;
    }
    if (*user_list) {
      auto users = auth.list_users();
      if (!users) return fail(users.error());
      for (const auto& u : *users)
        std::printf("%-6lld %-32s %-9s %s%s\n", static_cast<long long>(u.id), u.email.c_str(),
                    std::string(auth::role_name(u.role)).c_str(), u.name.c_str(), u.disabled ? " (disabled)" : "");
      return 0;
    }
    bool disable = user_disable->parsed();
    if (auto st = auth.set_user_disabled(u_email, disable, cli_actor()); !st) return fail(st.error());
    std::printf("%s %s\n", disable ? "disabled" : "enabled", u_email.c_str());
    return 0;
  }

  if (*key_cmd) {
    auth::AuthService auth(**db, clock, {});
    if (*key_create) {
      auto role = auth::parse_role(k_role);
      if (!role) return fail(role.error());
      std::set<auth::Permission> scopes;
      for (const auto& s : k_scopes) {
        auto p = auth::parse_permission(s);
        if (!p) return fail(p.error());
        scopes.insert(*p);
      }
      auto k = auth.create_api_key(k_name, *role, scopes, cli_actor());
      if (!k) return fail(k.error());
      std::string scope_list;
      for (auto p : k->key.scopes) scope_list += (scope_list.empty() ? "" : ",") + std::string(auth::permission_name(p));
      std::printf("created API key %s (role %s, scopes %s); it is shown only now:\n%s\n", k->key.name.c_str(),
                  std::string(auth::role_name(k->key.role)).c_str(), scope_list.c_str(), k->secret.c_str());
      return 0;
    }
    if (*key_revoke) {
      if (auto st = auth.revoke_api_key(k_name, cli_actor()); !st) return fail(st.error());
      std::printf("revoked %s\n", k_name.c_str());
      return 0;
    }
    auto keys = auth.list_api_keys();
    if (!keys) return fail(keys.error());
    for (const auto& k : *keys)
      std::printf("%-24s fid_%s_…  %-9s %s\n", k.name.c_str(), k.prefix.c_str(), std::string(auth::role_name(k.role)).c_str(),
                  k.revoked_at ? "revoked" : "active");
    return 0;
  }

  if (*import_orders_cmd) {
    auto options = merge_options(config);
    if (!options) return fail(options.error());
    auto st = commerce::import_orders(**db, clock,
                                      {.path = o_file, .source = o_source, .default_currency = o_currency,
                                       .rejects_path = o_rejects, .match_model = options->model},
                                      cli_actor());
    if (!st) return fail(st.error());
    std::printf("orders import: %lld lines read, %lld orders created, %lld already known, %lld rejected (%lld lines) (%s, '%c')\n",
                static_cast<long long>(st->lines_read), static_cast<long long>(st->orders_created),
                static_cast<long long>(st->orders_existing), static_cast<long long>(st->orders_rejected),
                static_cast<long long>(st->lines_rejected), st->encoding.c_str(), st->delimiter);
    if (!st->rejects_path.empty()) std::printf("rejected lines: %s\n", st->rejects_path.c_str());
    return st->orders_rejected > 0 || st->lines_rejected > 0 ? 1 : 0;
  }

  if (*import_cmd && import_interactions->parsed()) {
    auto report = timeline::import_interactions(**db, clock, ii_file, cli_actor());
    if (!report) return fail(report.error());
    std::string rejects_path = ii_rejects.empty() ? ii_file + ".rejects.csv" : ii_rejects;
    if (!report->rejects.empty()) {
      std::ofstream out(rejects_path);
      if (!out) return fail(Error::invalid_argument("rejects", "cannot write " + rejects_path));
      out << "line,field,reason\n";
      for (const auto& r : report->rejects) {
        std::string fields[] = {std::to_string(r.line), r.field, r.reason};
        out << imports::csv_line(fields, ',') << "\n";
      }
    }
    std::printf("%lld rows, %lld imported, %zu rejected%s\n", static_cast<long long>(report->rows),
                static_cast<long long>(report->imported), report->rejects.size(),
                report->rejects.empty() ? "" : (" (see " + rejects_path + ")").c_str());
    return report->rejects.empty() ? 0 : 3;
  }
  if (*import_cmd) {
    imports::ImportOptions o;
    o.path = i_file;
    o.source = i_source;
    o.source_priority = i_priority;
    o.consents = i_consents;
    o.default_country = i_country;
    o.dedup = !i_no_dedup;
    auto bulk = imports::parse_bulk_mode(i_bulk);
    if (!bulk) return fail(bulk.error());
    o.bulk = *bulk;
    o.rejects_path = i_rejects;
    if (i_batch < 1) return fail(Error::invalid_argument("batch", "--batch must be at least 1 row"));
    o.batch_rows = i_batch;
    if (!i_mapping.empty()) {
      // A JSON file, or the JSON itself ("--mapping '{\"id\": \"customer_id\"}'").
      http::Json m;
      if (text::trim(i_mapping).starts_with('{')) {
        m = http::Json::parse(i_mapping, nullptr, false);
      } else {
        std::ifstream in(i_mapping);
        if (!in) return fail(Error::invalid_argument("mapping", "cannot read the file " + i_mapping));
        m = http::Json::parse(in, nullptr, false);
      }
      if (m.is_discarded() || !m.is_object())
        return fail(Error::invalid_argument("mapping", "expected a JSON object {\"column header\": \"field\"}"));
      for (auto it = m.begin(); it != m.end(); ++it) {
        if (!it->is_string()) return fail(Error::invalid_argument("mapping." + it.key(), "expected a field name"));
        o.mapping[it.key()] = it->get<std::string>();
      }
    }
    auto options = merge_options(config);
    if (!options) return fail(options.error());
    imports::Importer importer(**db, clock, *options);
    std::unique_ptr<MxChecker> mx = mx_checker(config);
    o.mx = mx.get();
    if (i_dry_run) {
      auto p = importer.preview(o, 20);
      if (!p) return fail(p.error());
      std::printf("encoding %s, delimiter '%s'%s\n", p->dialect.encoding.c_str(),
                  p->dialect.delimiter == '\t' ? "\\t" : std::string(1, p->dialect.delimiter).c_str(),
                  p->dialect.bom ? ", byte-order mark" : "");
      for (const std::string& w : p->warnings) std::printf("warning: %s\n", w.c_str());
      for (const auto& c : p->columns) {
        // Padded by characters, not bytes: "Prénom" lines up with "Nom".
        std::string quoted = "\"" + c.header + "\"";
        auto chars = std::count_if(quoted.begin(), quoted.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; });
        quoted.append(static_cast<size_t>(std::max<long>(0, 28 - chars)), ' ');
        std::printf("  column %s -> %s%s\n", quoted.c_str(), c.target == imports::Target::kCustom ? "custom field " : "",
                    imports::mapped_field(c).c_str());
      }
      const bool splits_names = std::any_of(p->columns.begin(), p->columns.end(),
                                            [](const imports::Column& col) { return col.target == imports::Target::kFullName; });
      for (const auto& r : p->rows) {
        if (r.rejection) {
          std::printf("line %lld: REJECTED (%s: %s)\n", static_cast<long long>(r.line), r.rejection->field.c_str(),
                      r.rejection->message.c_str());
          continue;
        }
        const auto& c = *r.customer;
        std::printf("line %lld: %s %s %s | %s | %s | %s %s %s\n", static_cast<long long>(r.line),
                    c.civility.value_or("").c_str(), c.first_name.value_or("").c_str(), c.last_name.value_or("").c_str(),
                    c.emails && !c.emails->empty() ? (*c.emails)[0].email.c_str() : "",
                    c.phones && !c.phones->empty() ? (*c.phones)[0].e164.value_or((*c.phones)[0].raw).c_str() : "",
                    c.address ? c.address->postcode.value_or("").c_str() : "", c.address ? c.address->city.value_or("").c_str() : "",
                    c.birth_date.value_or("").c_str());
        // What the line above leaves out: how a full name was split, labels, the other e-mails and
        // phones, the street, tags and ids.
        if (splits_names)
          std::printf("    first name '%s', last name '%s'\n", c.first_name.value_or("").c_str(), c.last_name.value_or("").c_str());
        for (size_t i = 0; c.emails && i < c.emails->size(); ++i)
          if (!(*c.emails)[i].label.empty())
            std::printf("    label of %s: %s\n", (*c.emails)[i].email.c_str(), (*c.emails)[i].label.c_str());
        for (size_t i = 0; c.phones && i < c.phones->size(); ++i)
          if (!(*c.phones)[i].label.empty())
            std::printf("    label of %s: %s\n", (*c.phones)[i].e164.value_or((*c.phones)[i].raw).c_str(), (*c.phones)[i].label.c_str());
        if (c.emails && c.emails->size() > 1)
          for (size_t i = 1; i < c.emails->size(); ++i) std::printf("    e-mail %s\n", (*c.emails)[i].email.c_str());
        if (c.phones && c.phones->size() > 1)
          for (size_t i = 1; i < c.phones->size(); ++i)
            std::printf("    phone %s\n", (*c.phones)[i].e164.value_or((*c.phones)[i].raw).c_str());
        if (c.address && (c.address->street || c.address->street2))
          std::printf("    address %s%s%s%s%s\n", c.address->street.value_or("").c_str(), c.address->street2 ? ", " : "",
                      c.address->street2.value_or("").c_str(), c.address->country ? " " : "",
                      c.address->country.value_or("").c_str());
        if (c.tags && !c.tags->empty()) {
          std::string tags;
          for (const std::string& t : *c.tags) tags += (tags.empty() ? "" : ", ") + t;
          std::printf("    tags %s\n", tags.c_str());
        }
        for (const auto& x : c.external_ids.value_or(std::vector<customers::ExternalId>{}))
          std::printf("    id in %s: %s\n", x.source.c_str(), x.id.c_str());
        for (const auto& k : c.consents.value_or(std::vector<customers::Consent>{}))
          std::printf("    consent %s:%s %s%s\n", std::string(customers::channel_name(k.channel)).c_str(),
                      std::string(customers::purpose_name(k.purpose)).c_str(), k.granted ? "given" : "withdrawn",
                      k.source_at ? (" on " + format_iso8601(*k.source_at).substr(0, 10)).c_str() : "");
        if (c.custom_fields)
          for (const auto& [key, value] : *c.custom_fields)
            if (value) std::printf("    custom field %s: %s\n", key.c_str(), customers::custom_value_text(*value).c_str());
        for (const auto& m : c.household.value_or(std::vector<customers::HouseholdMember>{}))
          std::printf("    household %s\n", imports::household_item(m).c_str());
        if (c.affinities && !c.affinities->empty()) {
          std::string items;
          for (const auto& a : *c.affinities) items += (items.empty() ? "" : ", ") + imports::affinity_item(a);
          std::printf("    affinities %s\n", items.c_str());
        }
        if (r.match) {
          std::string ids;
          for (int64_t id : r.match->customers) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
          const std::string by = r.match->by == "customer_id"   ? "its Fidelis id"
                                 : r.match->by == "external_id" ? "an id it has in a source"
                                 : r.match->by == "email"       ? "its e-mail"
                                                                : fmt::format("the model, score {:.1f}", r.match->score.value_or(0));
          const std::string what = r.match->outcome == "update"  ? "updates customer"
                                   : r.match->outcome == "merge" ? "merges into customer"
                                                                 : "goes to review with customer";
          std::printf("    %s %s (%s)%s\n", what.c_str(), ids.c_str(), by.c_str(),
                      r.match->changes == false ? ", which it brings nothing new: unchanged" : "");
        }
        if (!r.empties.empty()) {
          std::string fields;
          for (const std::string& f : r.empties) fields += (fields.empty() ? "" : ", ") + f;
          std::printf("    empties %s\n", fields.c_str());
        }
        for (const auto& f : r.flags)
          std::printf("    flagged %s '%s': %s\n", f.field.c_str(), f.value.c_str(), f.reason.c_str());
      }
      return 0;
    }
    bool tty = isatty(fileno(stderr));
    int last_decile = -1;
    bool said_indexes = false;
    o.progress = [&](const imports::ImportStatus& s) {
      if (s.phase == "indexes") {
        // Said once: the last batch's progress and the rebuild's start both report this phase.
        if (std::exchange(said_indexes, true)) return;
        std::fprintf(stderr, "%s%lld rows written; rebuilding the search indexes...%s", tty ? "\r" : "",
                     static_cast<long long>(s.rows_read), tty ? "                                        " : "\n");
        return;
      }
      double frac = s.bytes_total > 0 ? static_cast<double>(s.bytes_done) / static_cast<double>(s.bytes_total) : 0;
      int decile = static_cast<int>(frac * 10);
      if (!tty && decile == last_decile) return;
      last_decile = decile;
      int filled = static_cast<int>(frac * 30);
      std::string eta = s.eta_seconds ? fmt::format("ETA {:.0f} s", *s.eta_seconds) : "";
      std::fprintf(stderr, "%s[%s%s] %3.0f%% %lld rows, %.0f rows/s, %lld accepted, %lld updated, %lld merged, %lld rejected %s%s",
                   tty ? "\r" : "", std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(30 - filled), ' ').c_str(), frac * 100, static_cast<long long>(s.rows_read),
                   s.rows_per_second, static_cast<long long>(s.accepted), static_cast<long long>(s.updated),
                   static_cast<long long>(s.merged), static_cast<long long>(s.rejected), eta.c_str(), tty ? "   " : "\n");
    };
    auto start = std::chrono::steady_clock::now();
    auto st = importer.run(o, cli_actor());
    if (tty) std::fprintf(stderr, "\n");
    if (!st) return fail(st.error());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("import %lld %s%s%s: %lld rows read, %lld accepted, %lld updated, %lld merged, %lld unchanged, "
                "%lld queued for review, %lld rejected, %lld flagged in %.1f s (%s, '%c')\n",
                static_cast<long long>(st->id), st->status.c_str(), st->resumed ? " (resumed)" : "",
                st->bulk ? " (bulk load)" : "", static_cast<long long>(st->rows_read), static_cast<long long>(st->accepted),
                static_cast<long long>(st->updated), static_cast<long long>(st->merged),
                static_cast<long long>(st->unchanged), static_cast<long long>(st->queued), static_cast<long long>(st->rejected), static_cast<long long>(st->flagged), secs, st->encoding.c_str(),
                st->delimiter);
    if (st->rejected > 0) std::printf("rejected rows: %s\n", st->rejects_path.c_str());
    for (const std::string& w : st->warnings) std::printf("warning: %s\n", w.c_str());
    return st->status == "done" ? 0 : 1;
  }

  if (*export_cmd) {
    auto format = imports::parse_export_format(e_format);
    if (!format) return fail(format.error());
    std::FILE* out = e_output.empty() ? stdout : std::fopen(e_output.c_str(), "wb");
    if (out == nullptr) return fail(Error::invalid_argument("output", "cannot write " + e_output));
    auto n = imports::export_customers(**db, *format, e_deleted, [&](std::string_view chunk) -> Status {
      if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size())
        return Error::unavailable("cannot write the export (disk full?)");
      return ok();
    });
    if (out != stdout) std::fclose(out);
    if (!n) return fail(n.error());
    std::fprintf(stderr, "exported %lld customers\n", static_cast<long long>(*n));
    return 0;
  }

  if (*dedup_cmd && !d_estimate.empty()) {
    if (!d_pairs.empty() || d_dry_run) return fail(Error::invalid_argument("estimate", "--estimate goes alone"));
    auto options = merge_options(config);
    if (!options) return fail(options.error());
    auto records = merging::load_records(**db);
    if (!records) return fail(records.error());
    // Every candidate pair the blocking finds, distinct ones included: EM needs both classes.
    auto result = dedup::match(*records, options->model, {.keep_distinct = true, .threads = d_threads});
    if (!result) return fail(result.error());
    std::vector<dedup::Comparison> comparisons;
    comparisons.reserve(result->pairs.size());
    for (const auto& p : result->pairs) comparisons.push_back(p.comparison);
    if (comparisons.empty()) return fail(Error::failed_precondition("estimate", "the base has no candidate pairs to learn from"));
    auto em = options->model.estimate(comparisons);
    if (!em) return fail(em.error());
    std::vector<dedup::Field> kept;
    em->model = dedup::keep_unlearned(em->model, options->model, comparisons, 20, kept);
    if (Status usable = dedup::check_estimate(*em); !usable) {
      auto e = usable.error();
      e.message = fmt::format("{} customers, {} candidate pairs: {}; nothing written", records->size(), comparisons.size(),
                              e.message);
      return fail(e);
    }
    std::ofstream out(d_estimate, std::ios::binary | std::ios::trunc);
    out << dedup::model_to_text(em->model);
    if (!out.flush()) return fail(Error::invalid_argument("estimate", "cannot write " + d_estimate));
    std::printf("%zu customers, %zu candidate pairs: estimated match share %.4f after %d iterations%s\n",
                records->size(), comparisons.size(), em->match_share, em->iterations,
                em->converged ? "" : " (not converged)");
    for (size_t f = 0; f < dedup::kFieldCount; ++f) {
      auto field = static_cast<dedup::Field>(f);
      int top = dedup::level_count(field) - 1;
      std::printf("  %-10s agreement %+6.2f (now %+6.2f), disagreement %+6.2f (now %+6.2f)\n",
                  std::string(dedup::field_name(field)).c_str(), em->model.weight(field, top), options->model.weight(field, top),
                  em->model.weight(field, 0), options->model.weight(field, 0));
    }
    for (dedup::Field f : kept)
      std::printf("  %s: too few pairs agree or disagree on it to learn from; its current values are kept\n",
                  std::string(dedup::field_name(f)).c_str());
    std::printf("model written to %s: set dedup.model_file to it to use it\n", d_estimate.c_str());
    return 0;
  }

  if (*dedup_cmd && d_pairs.empty()) {
    auto options = merge_options(config);
    if (!options) return fail(options.error());
    merging::MergeService merges(**db, clock, *options);
    auto start = std::chrono::steady_clock::now();
    bool tty = isatty(fileno(stderr));
    auto run = merges.run_dedup(
        {.dry_run = d_dry_run, .threads = d_threads, .progress = [&](const merging::DedupRun& d) {
           int64_t total = d.pairs_merge + d.pairs_review;
           if (d.compared == 0) {
             std::fprintf(stderr, "%sread %lld customers, matching...%s", tty ? "\r" : "",
                          static_cast<long long>(d.records), tty ? "" : "\n");
             return;
           }
           int pct = total > 0 ? static_cast<int>(d.done * 100 / total) : 100;
           if (!tty && d.done != 0 && d.done != total) return;
           std::fprintf(stderr, "%s[%-40s] %3d%%  %lld/%lld pairs  merged %lld  queued %lld  already queued %lld  skipped %lld%s",
                        tty ? "\r" : "", std::string(static_cast<size_t>(pct * 40 / 100), '#').c_str(), pct,
                        static_cast<long long>(d.done), static_cast<long long>(total), static_cast<long long>(d.merged),
                        static_cast<long long>(d.queued), static_cast<long long>(d.already_queued),
                        static_cast<long long>(d.skipped), tty ? "" : "\n");
         }},
        cli_actor());
    if (tty) std::fprintf(stderr, "\n");
    if (!run) return fail(run.error());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("run %lld%s: %lld customers, %lld pairs compared: %lld to merge, %lld to review; merged %lld, queued "
                "%lld for review (%lld already waiting), skipped %lld; %.1f s, peak memory %.0f MiB\n",
                static_cast<long long>(run->id), run->dry_run ? " (dry run)" : "", static_cast<long long>(run->records),
                static_cast<long long>(run->compared), static_cast<long long>(run->pairs_merge),
                static_cast<long long>(run->pairs_review), static_cast<long long>(run->merged),
                static_cast<long long>(run->queued), static_cast<long long>(run->already_queued),
                static_cast<long long>(run->skipped), secs,
                static_cast<double>(ru.ru_maxrss) / 1024.0);
    return 0;
  }

  if (*dedup_cmd) {
    // The pairs a run would act on: scored with the configured thresholds, less those a person
    // already said are two people.
    auto options = merge_options(config);
    if (!options) return fail(options.error());
    auto start = std::chrono::steady_clock::now();
    auto records = merging::load_records(**db);
    if (!records) return fail(records.error());
    auto rejected = merging::review_pairs(**db, "rejected");
    if (!rejected) return fail(rejected.error());
    double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto result = dedup::match(*records, options->model, {.threads = d_threads});
    if (!result) return fail(result.error());
    if (Status flagged = merging::add_flagged_pairs(**db, *records, options->model, result->pairs); !flagged)
      return fail(flagged.error());
    size_t left_out = merging::apply_decisions(result->pairs, *rejected);
    std::FILE* out = std::fopen(d_pairs.c_str(), "wb");
    if (out == nullptr) return fail(Error::invalid_argument("pairs", "cannot write " + d_pairs));
    std::string head = "external_id_a,external_id_b,score,decision\r\n";
    std::fwrite(head.data(), 1, head.size(), out);
    for (const auto& p : result->pairs) {
      std::string line = imports::csv_line(merging::pair_csv_fields(p, *records), ',') + "\r\n";
      std::fwrite(line.data(), 1, line.size(), out);
    }
    std::fclose(out);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    const auto& st = result->stats;
    // What a run would act on: the pairs left once a person's decisions are taken out.
    auto count = [&](dedup::Decision d) {
      return static_cast<size_t>(std::count_if(result->pairs.begin(), result->pairs.end(),
                                               [&](const dedup::ScoredPair& p) { return p.decision == d; }));
    };
    std::printf("%zu customers, %zu pairs compared: %zu to merge, %zu to review (%zu oversized blocks skipped); "
                "%.1f s (%.1f s reading), peak memory %.0f MiB\n",
                st.records, st.compared_pairs, count(dedup::Decision::kMerge), count(dedup::Decision::kReview),
                st.oversized_blocks, secs, load_s,
                static_cast<double>(ru.ru_maxrss) / 1024.0);
    std::printf("%zu pairs written to %s (%zu left out: a person said they are two people)\n", result->pairs.size(),
                d_pairs.c_str(), left_out);
    return 0;
  }

  if (*demo_cmd) {
    auto start = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> indexes_started;
    bool tty = isatty(fileno(stderr));
    auto stats = customers::generate_demo(
        **db, clock,
        {.customers = demo_count, .seed = demo_seed, .progress = [&](std::string_view table, int64_t done, int64_t total) {
           if (table == "indexes" && done == 0) indexes_started = std::chrono::steady_clock::now();
           if (tty || done == total)
             std::fprintf(stderr, "%s%-22s %3lld%%%s", tty ? "\r" : "", std::string(table).c_str(),
                          static_cast<long long>(done * 100 / total), done == total ? "\n" : "");
         }});
    if (!stats) return fail(stats.error());
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("generated %lld customers (ids %lld..%lld, %lld rows) in %.1f s, peak memory %.0f MiB\n",
                static_cast<long long>(stats->customers), static_cast<long long>(stats->first_id),
                static_cast<long long>(stats->last_id), static_cast<long long>(stats->rows), secs,
                static_cast<double>(ru.ru_maxrss) / 1024.0);
    if (indexes_started)
      std::printf("of which %.1f s rebuilding the secondary indexes\n",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - *indexes_started).count());
    return 0;
  }
  return 0;
}

}  // namespace fidelis::app
