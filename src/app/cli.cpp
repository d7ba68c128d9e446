// Subcommands: serve, migrate, user, apikey, demo, routes.

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <sys/resource.h>

#include "app/app.h"
#include "auth/auth.h"
#include "core/log.h"
#include "customers/customers.h"
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

  auto* routes_cmd = cli.add_subcommand("routes", "Print the API routes and the permission each needs, as JSON");

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
    http::Api api({**db, clock, config, auth, customers, {}});
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
