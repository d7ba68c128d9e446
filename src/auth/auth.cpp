#include "auth/auth.h"

#include <fmt/format.h>
#include <sodium.h>

#include "core/email.h"
#include "core/log.h"
#include "core/text.h"

namespace fidelis::auth {

using storage::Value;

namespace {

constexpr std::string_view kRoleNames[] = {"admin", "marketer", "agent", "sales", "viewer"};
constexpr std::string_view kPermissionNames[] = {
    "customers:read", "customers:write", "customers:delete", "customers:restore",
    "custom_fields:manage", "users:manage", "api_keys:manage", "audit:read", "imports:manage",
    "questionnaires:manage", "deliverability:manage", "catalogue:read", "catalogue:manage",
    "customers:merge", "customers:export", "dedup:run", "mail:read", "mail:manage",
    "orders:read", "orders:manage", "delivery:manage",
    "tracking:write", "interactions:write"};

void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

std::string scopes_text(const std::set<Permission>& scopes) {
  std::string out;
  for (Permission p : scopes) {
    if (!out.empty()) out += ' ';
    out += permission_name(p);
  }
  return out;
}

std::set<Permission> parse_scopes_text(std::string_view s) {
  std::set<Permission> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(' ', start);
    if (end == std::string_view::npos) end = s.size();
    if (auto p = parse_permission(s.substr(start, end - start))) out.insert(*p);
    start = end + 1;
  }
  return out;
}

User user_from_row(const storage::Row& r) {
  User u;
  u.id = r.i64(0);
  u.email = r.str(1);
  u.name = r.str(2);
  u.role = parse_role(r.str(3)).value_or(Role::kViewer);
  u.disabled = r.i64(4) != 0;
  u.created_at = r.i64(5);
  return u;
}

constexpr std::string_view kUserColumns = "id, email, name, role, disabled, created_at";

}  // namespace

std::string_view role_name(Role role) { return kRoleNames[static_cast<int>(role)]; }

Result<Role> parse_role(std::string_view name, std::string_view field) {
  for (Role r : kAllRoles)
    if (role_name(r) == name) return r;
  return Error::invalid_argument(std::string(field),
                                 "unknown role '" + std::string(name) + "'; expected admin, marketer, agent, sales or viewer");
}

std::string_view permission_name(Permission p) { return kPermissionNames[static_cast<int>(p)]; }

Result<Permission> parse_permission(std::string_view name, std::string_view field) {
  for (Permission p : kAllPermissions)
    if (permission_name(p) == name) return p;
  return Error::invalid_argument(std::string(field), "unknown scope '" + std::string(name) + "'");
}

bool role_has(Role role, Permission p) {
  switch (p) {
    case Permission::kCustomersRead:
    case Permission::kCatalogueRead:
    case Permission::kOrdersRead: return true;
    case Permission::kOrdersManage: return role == Role::kAdmin || role == Role::kAgent || role == Role::kSales;
    case Permission::kDeliveryManage: return role == Role::kAdmin || role == Role::kAgent;
    case Permission::kCustomersWrite: return role != Role::kViewer;
    case Permission::kCustomersDelete:
    case Permission::kImportsManage:
    case Permission::kQuestionnairesManage:
    case Permission::kDeliverabilityManage:
    case Permission::kCatalogueManage:
    case Permission::kCustomersExport:
    case Permission::kDedupRun: return role == Role::kAdmin || role == Role::kMarketer;
    case Permission::kCustomersMerge: return role == Role::kAdmin || role == Role::kMarketer || role == Role::kAgent;
    case Permission::kMailManage: return role == Role::kAdmin || role == Role::kMarketer;
    case Permission::kTrackingWrite: return role == Role::kAdmin || role == Role::kMarketer;
    case Permission::kInteractionsWrite: return role != Role::kViewer;
    case Permission::kMailRead: return role == Role::kAdmin || role == Role::kMarketer || role == Role::kAgent;
    case Permission::kCustomersRestore:
    case Permission::kCustomFieldsManage:
    case Permission::kUsersManage:
    case Permission::kApiKeysManage:
    case Permission::kAuditRead: return role == Role::kAdmin;
  }
  return false;
}

Result<std::string> hash_password(std::string_view password, bool fast) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  unsigned long long ops = fast ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  size_t mem = fast ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (crypto_pwhash_str(out, password.data(), password.size(), ops, mem) != 0)
    return Error::unavailable("not enough memory to hash the password now; retry");
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  std::string h(hash);
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string random_token() {
  ensure_sodium();
  unsigned char buf[32];
  randombytes_buf(buf, sizeof buf);
  return text::base64url_encode(std::string_view(reinterpret_cast<char*>(buf), sizeof buf));
}

std::string token_hash(std::string_view secret) {
  ensure_sodium();
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nullptr, 0);
  return text::hex_encode(std::string_view(reinterpret_cast<char*>(out), sizeof out));
}

AuthService::AuthService(storage::Db& db, const Clock& clock, AuthOptions options)
    : db_(db), clock_(clock), options_(options) {
  dummy_hash_ = hash_password(random_token(), options_.fast_hashing).value_or("");
}

Result<User> AuthService::add_user(std::string_view email_in, std::string_view name, Role role,
                                   std::string_view password, const audit::Actor& actor) {
  FIDELIS_ASSIGN_OR_RETURN(std::string email, normalize_email(email_in, "email"));
  email = text::to_lower_ascii(email);
  std::string display(text::trim(name));
  if (display.empty()) display = email;
  if (password.size() < 10) return Error::invalid_argument("password", "must be at least 10 characters");
  if (password.size() > 1024) return Error::invalid_argument("password", "must be at most 1024 characters");
  FIDELIS_ASSIGN_OR_RETURN(std::string hash, hash_password(password, options_.fast_hashing));
  Millis now = clock_.now();
  User user;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {email, display, std::string(role_name(role)), hash, now};
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> row,
        tx.one(fmt::format("INSERT INTO users (email, name, role, password_hash, disabled, created_at, updated_at) "
                           "VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING {}",
                           kUserColumns),
               p));
    user = user_from_row(*row);
    return audit::record(tx, actor,
                         {"user.create", "user", std::to_string(user.id), std::nullopt,
                          fmt::format(R"({{"email":"{}","role":"{}"}})", log::json_escape(email), role_name(role))},
                         now);
  });
  if (!s) {
    if (s.error().code == Code::kAlreadyExists) return Error::already_exists("email", "a user already has this e-mail");
    return s.error();
  }
  return user;
}

Result<std::vector<User>> AuthService::list_users() {
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query(fmt::format("SELECT {} FROM users ORDER BY id", kUserColumns)));
  std::vector<User> out;
  for (const auto& r : rows.rows) out.push_back(user_from_row(r));
  return out;
}

Status AuthService::set_user_disabled(std::string_view email_in, bool disabled, const audit::Actor& actor) {
  std::string email = text::to_lower_ascii(text::trim(email_in));
  Millis now = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {email, int64_t{disabled}, now};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("UPDATE users SET disabled = $2, updated_at = $3 WHERE email = $1 RETURNING id", p));
    if (!row) return Error::not_found("email", "no user has this e-mail");
    Value id[] = {row->i64(0)};
    FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM sessions WHERE user_id = $1", id));
    return audit::record(tx, actor,
                         {disabled ? "user.disable" : "user.enable", "user", row->str(0), std::nullopt,
                          fmt::format(R"({{"disabled":{}}})", disabled)},
                         now);
  });
}

Result<bool> AuthService::throttled(std::string_view key, Millis now, int max_failures) {
  Value p[] = {std::string(key)};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one("SELECT failures, window_start FROM login_attempts WHERE key = $1", p));
  if (!row) return false;
  if (now - row->i64(1) >= options_.login_window_ms) return false;
  return row->i64(0) >= max_failures;
}

Status AuthService::note_failure(std::string_view key, Millis now) {
  return db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {std::string(key), now, now - options_.login_window_ms};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO login_attempts (key, failures, window_start) VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN login_attempts.window_start <= $3 THEN 1 ELSE login_attempts.failures + 1 END, "
        "window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 ELSE login_attempts.window_start END",
        p));
    return ok();
  });
}

Result<Session> AuthService::login(std::string_view email_in, std::string_view password, std::string_view ip) {
  std::string email = text::to_lower_ascii(text::trim(email_in));
  Millis now = clock_.now();
  std::string account_key = "account:" + email, ip_key = "ip:" + std::string(ip);
  FIDELIS_ASSIGN_OR_RETURN(bool account_blocked, throttled(account_key, now, options_.login_max_failures));
  FIDELIS_ASSIGN_OR_RETURN(bool ip_blocked, throttled(ip_key, now, options_.login_max_failures_per_address));
  if (account_blocked || ip_blocked)
    return Error::resource_exhausted("password", "too many failed logins; try again later");

  Value p[] = {email};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      db_.one(fmt::format("SELECT {}, password_hash FROM users WHERE email = $1", kUserColumns), p));
  bool good = row ? verify_password(row->str(6), password) : (verify_password(dummy_hash_, password), false);
  if (!good || row->i64(4) != 0) {
    FIDELIS_RETURN_IF_ERROR(note_failure(account_key, now));
    FIDELIS_RETURN_IF_ERROR(note_failure(ip_key, now));
    log::warn("login failed", {{"email", email}, {"ip", std::string(ip)}});
    return Error::unauthenticated("wrong e-mail or password, or the account is disabled");
  }
  Session s;
  s.user = user_from_row(*row);
  s.token = random_token();
  s.csrf_token = random_token();
  s.expires_at = now + options_.session_ttl_ms;
  Status st = db_.transact([&](storage::Tx& tx) -> Status {
    Value clear[] = {account_key};
    FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM login_attempts WHERE key = $1", clear));
    Value sp[] = {token_hash(s.token), s.user.id, s.csrf_token, now, s.expires_at, std::string(ip)};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, ip) VALUES ($1, $2, $3, $4, $5, $6)",
        sp));
    Value old[] = {now};
    FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM sessions WHERE expires_at < $1", old));
    return ok();
  });
  if (!st) return st.error();
  return s;
}

Status AuthService::logout(std::string_view token) {
  Value p[] = {token_hash(token)};
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM sessions WHERE token_hash = $1", p));
    return ok();
  }));
  return ok();
}

Result<Principal> AuthService::authenticate_session(std::string_view token) {
  Millis now = clock_.now();
  std::string hash = token_hash(token);
  Value p[] = {hash};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      db_.one("SELECT u.id, u.email, u.role, u.disabled, s.csrf_token, s.expires_at FROM sessions s "
              "JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
              p));
  if (!row || row->i64(5) <= now || row->i64(3) != 0)
    return Error::unauthenticated("the session has expired; log in again");
  if (row->i64(5) - now < options_.session_ttl_ms / 2) {
    // Best effort: retried on the next request if the writer is busy.
    Value ext[] = {hash, now + options_.session_ttl_ms};
    (void)db_.try_transact([&](storage::Tx& tx) -> Status {
      FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE sessions SET expires_at = $2 WHERE token_hash = $1", ext));
      return ok();
    });
  }
  Principal pr;
  pr.kind = Principal::Kind::kUser;
  pr.id = row->i64(0);
  pr.name = row->str(1);
  pr.role = parse_role(row->str(2)).value_or(Role::kViewer);
  pr.csrf_token = row->str(4);
  return pr;
}

Result<Principal> AuthService::authenticate_api_key(std::string_view key) {
  std::string hash = token_hash(key);
  Millis now = clock_.now();
  {
    std::lock_guard lock(key_cache_mu_);
    auto it = key_cache_.find(hash);
    if (it != key_cache_.end() && it->second.until > now) return it->second.principal;
  }
  Value p[] = {hash};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      db_.one("SELECT id, name, role, scopes, revoked_at, last_used_at FROM api_keys WHERE key_hash = $1", p));
  if (!row || !row->is_null(4)) return Error::unauthenticated("unknown or revoked API key");
  // Record use at most once a minute: a write per request would serialise every API call.
  if (row->is_null(5) || now - row->i64(5) > 60'000) {
    Value up[] = {row->i64(0), now};
    (void)db_.try_transact([&](storage::Tx& tx) -> Status {
      FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", up));
      return ok();
    });
  }
  Principal pr;
  pr.kind = Principal::Kind::kApiKey;
  pr.id = row->i64(0);
  pr.name = row->str(1);
  pr.role = parse_role(row->str(2)).value_or(Role::kViewer);
  pr.scopes = parse_scopes_text(row->str(3));
  if (options_.api_key_cache_ms > 0) {
    std::lock_guard lock(key_cache_mu_);
    if (key_cache_.size() > 10'000) key_cache_.clear();
    key_cache_[hash] = CachedKey{pr, now + options_.api_key_cache_ms};
  }
  return pr;
}

Result<NewApiKey> AuthService::create_api_key(std::string_view name_in, Role role, std::set<Permission> scopes,
                                              const audit::Actor& actor) {
  std::string name(text::trim(name_in));
  if (name.empty() || name.size() > 100) return Error::invalid_argument("name", "must be 1 to 100 characters");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return Error::invalid_argument("name", "use letters, digits, '-', '_' and '.' only (it appears in URLs)");
  if (scopes.empty()) {
    for (Permission p : kAllPermissions)
      if (role_has(role, p)) scopes.insert(p);
  }
  for (Permission p : scopes)
    if (!role_has(role, p))
      return Error::invalid_argument("scopes", fmt::format("the role {} cannot have the scope {}", role_name(role),
                                                           permission_name(p)));
  NewApiKey out;
  std::string prefix = random_token().substr(0, 8);
  for (char& c : prefix)
    if (c == '-' || c == '_') c = 'x';
  out.secret = "fid_" + prefix + "_" + random_token();
  Millis now = clock_.now();
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {name, prefix, token_hash(out.secret), std::string(role_name(role)), scopes_text(scopes), now};
    FIDELIS_ASSIGN_OR_RETURN(int64_t id, tx.insert_id("INSERT INTO api_keys (name, prefix, key_hash, role, scopes, "
                                                      "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                                                      p));
    out.key = ApiKey{id, name, prefix, role, scopes, now, std::nullopt, std::nullopt};
    return audit::record(tx, actor,
                         {"api_key.create", "api_key", std::to_string(id), std::nullopt,
                          fmt::format(R"({{"name":"{}","role":"{}","scopes":"{}"}})", log::json_escape(name),
                                      role_name(role), scopes_text(scopes))},
                         now);
  });
  if (!s) {
    if (s.error().code == Code::kAlreadyExists) return Error::already_exists("name", "an API key already has this name");
    return s.error();
  }
  return out;
}

Result<std::vector<ApiKey>> AuthService::list_api_keys() {
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT id, name, prefix, role, scopes, created_at, revoked_at, last_used_at FROM api_keys ORDER BY id"));
  std::vector<ApiKey> out;
  for (const auto& r : rows.rows)
    out.push_back(ApiKey{r.i64(0), r.str(1), r.str(2), parse_role(r.str(3)).value_or(Role::kViewer),
                         parse_scopes_text(r.str(4)), r.i64(5), r.opt_i64(6), r.opt_i64(7)});
  return out;
}

Status AuthService::revoke_api_key(std::string_view name, const audit::Actor& actor) {
  Millis now = clock_.now();
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {std::string(name), now};
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> row,
        tx.one("UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING id", p));
    if (!row) return Error::not_found("name", "no active API key has this name");
    return audit::record(tx, actor, {"api_key.revoke", "api_key", row->str(0), std::nullopt, std::nullopt}, now);
  });
  if (s) {
    std::lock_guard lock(key_cache_mu_);
    key_cache_.clear();
  }
  return s;
}

}  // namespace fidelis::auth
