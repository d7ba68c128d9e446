#pragma once
// auth: users and roles, passwords, sessions, API keys, login throttling, and what each role may do.
//
// Roles: admin, marketer, agent, sales, viewer. A permission is granted to a fixed set of roles;
// an API key carries a role and scopes (a subset of its role's permissions, all of them by default).
// Passwords are hashed with libsodium argon2id (crypto_pwhash_str, interactive limits, ~80 ms): call
// the hashing functions off the I/O threads. Session tokens and API keys are random 256-bit secrets
// stored only as BLAKE2b hashes. Throttling counters live in the database, so several server
// processes share them.
//
// Thread-safety: AuthService is shared by all request threads.

#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::auth {

enum class Role { kAdmin, kMarketer, kAgent, kSales, kViewer };
inline constexpr Role kAllRoles[] = {Role::kAdmin, Role::kMarketer, Role::kAgent, Role::kSales, Role::kViewer};
std::string_view role_name(Role role);
Result<Role> parse_role(std::string_view name, std::string_view field = "role");

// What a route needs. The scope name of each is its permission name ("customers:read").
enum class Permission {
  kCustomersRead,    // every role
  kCustomersWrite,   // admin, marketer, agent, sales
  kCustomersDelete,  // admin, marketer
  kCustomersRestore, // admin (also sees deleted customers)
  kCustomFieldsManage,  // admin
  kUsersManage,      // admin
  kApiKeysManage,    // admin
  kAuditRead,        // admin
  kImportsManage,    // admin, marketer: upload files, run and read imports
  kQuestionnairesManage,  // admin, marketer: define questionnaires, issue links, read completion
  kDeliverabilityManage,  // admin, marketer: feed bounces, read NPAI rates, clear addresses
  kCatalogueRead,    // every role
  kCatalogueManage,  // admin, marketer
  kCustomersMerge,   // admin, marketer, agent: merge and unmerge customers, decide review pairs
  kCustomersExport,  // admin, marketer: export the whole base
  kDedupRun,         // admin, marketer: run the whole-base deduplication
  kMailRead,         // admin, marketer, agent: the outbox and the templates
  kMailManage,       // admin, marketer: edit templates, send a failed message again
  kOrdersRead,       // every role
  kOrdersManage,     // admin, agent, sales: create orders, move them through the workflow, returns, shipments, slots
  kDeliveryManage,   // admin, agent: delivery zones and slot templates
  kTrackingWrite,    // admin, marketer: send web events and identify visitors (API keys of shops)
  kInteractionsWrite,  // admin, marketer, agent, sales: record, change and delete interactions
};
inline constexpr Permission kAllPermissions[] = {
    Permission::kCustomersRead, Permission::kCustomersWrite, Permission::kCustomersDelete,
    Permission::kCustomersRestore, Permission::kCustomFieldsManage, Permission::kUsersManage,
    Permission::kApiKeysManage, Permission::kAuditRead, Permission::kImportsManage,
    Permission::kQuestionnairesManage, Permission::kDeliverabilityManage, Permission::kCatalogueRead,
    Permission::kCatalogueManage, Permission::kCustomersMerge, Permission::kCustomersExport,
    Permission::kDedupRun, Permission::kMailRead, Permission::kMailManage,
    Permission::kOrdersRead, Permission::kOrdersManage, Permission::kDeliveryManage,
    Permission::kTrackingWrite, Permission::kInteractionsWrite};
std::string_view permission_name(Permission p);
Result<Permission> parse_permission(std::string_view name, std::string_view field = "scopes");
bool role_has(Role role, Permission p);

// The authenticated caller of a request.
struct Principal {
  enum class Kind { kUser, kApiKey } kind = Kind::kUser;
  int64_t id = 0;
  std::string name;               // user e-mail or API key name
  Role role = Role::kViewer;
  std::set<Permission> scopes;    // API keys only; users have their role's permissions
  std::string csrf_token;         // sessions only: must come back in X-CSRF-Token on writes
  bool may(Permission p) const { return role_has(role, p) && (kind == Kind::kUser || scopes.contains(p)); }
};

struct User {
  int64_t id = 0;
  std::string email;
  std::string name;
  Role role = Role::kViewer;
  bool disabled = false;
  Millis created_at = 0;
};

struct ApiKey {
  int64_t id = 0;
  std::string name;
  std::string prefix;  // first characters of the key, shown in lists to recognise it
  Role role = Role::kViewer;
  std::set<Permission> scopes;
  Millis created_at = 0;
  std::optional<Millis> revoked_at;
  std::optional<Millis> last_used_at;
};

struct NewApiKey {
  ApiKey key;
  std::string secret;  // the whole key, "fid_<prefix>_<secret>"; shown once, never stored
};

struct Session {
  std::string token;       // goes in the HttpOnly cookie; stored hashed
  std::string csrf_token;  // given to the browser to send back in X-CSRF-Token
  Millis expires_at = 0;
  User user;
};

struct AuthOptions {
  Millis session_ttl_ms = 12LL * 3600 * 1000;
  int login_max_failures = 5;     // per account within the window
  int login_max_failures_per_address = 50;  // per client address within the window
  Millis login_window_ms = 15LL * 60 * 1000;
  bool fast_hashing = false;      // tests only: minimal argon2id cost
  // How long a verified API key is trusted without asking the database again. A key revoked
  // through this process stops at once; through another process, within this delay.
  Millis api_key_cache_ms = 5000;
};

class AuthService {
 public:
  AuthService(storage::Db& db, const Clock& clock, AuthOptions options);

  // InvalidArgument: bad e-mail ("email"), password under 10 characters ("password"), bad role.
  // AlreadyExists ("email") if the e-mail is taken.
  Result<User> add_user(std::string_view email, std::string_view name, Role role, std::string_view password,
                        const audit::Actor& actor);
  Result<std::vector<User>> list_users();
  // NotFound ("email") if no such user. Also ends the user's sessions.
  Status set_user_disabled(std::string_view email, bool disabled, const audit::Actor& actor);

  // Unauthenticated on a wrong e-mail or password or a disabled user (one message for all, so the
  // answer does not reveal which); ResourceExhausted ("password") when the account or the address has
  // failed too often within the window.
  Result<Session> login(std::string_view email, std::string_view password, std::string_view ip);
  Status logout(std::string_view session_token);
  // Unauthenticated when the token is unknown or expired. Extends the session when it is past half
  // its life.
  Result<Principal> authenticate_session(std::string_view session_token);
  // Unauthenticated when the key is unknown or revoked. Cached (see AuthOptions::api_key_cache_ms).
  Result<Principal> authenticate_api_key(std::string_view key);

  // `name`: 1-100 of [A-Za-z0-9._-]. Empty `scopes` means every permission of the role.
  // InvalidArgument ("scopes") for a scope the
  // role does not have; AlreadyExists ("name") for a name in use.
  Result<NewApiKey> create_api_key(std::string_view name, Role role, std::set<Permission> scopes,
                                   const audit::Actor& actor);
  Result<std::vector<ApiKey>> list_api_keys();
  // NotFound ("name") if there is no such unrevoked key.
  Status revoke_api_key(std::string_view name, const audit::Actor& actor);

 private:
  Result<bool> throttled(std::string_view key, Millis now, int max_failures);
  Status note_failure(std::string_view key, Millis now);

  storage::Db& db_;
  const Clock& clock_;
  AuthOptions options_;
  std::string dummy_hash_;  // verified against when the account does not exist, to equalise timing

  struct CachedKey {
    Principal principal;
    Millis until = 0;
  };
  std::mutex key_cache_mu_;
  std::unordered_map<std::string, CachedKey> key_cache_;  // by key hash
};

// Password hashing (argon2id). `fast` uses the minimum cost, for tests.
Result<std::string> hash_password(std::string_view password, bool fast = false);
bool verify_password(std::string_view hash, std::string_view password);
// A random secret of 32 bytes, base64url.
std::string random_token();
// BLAKE2b-256 of `secret`, hex. Used to store tokens and keys.
std::string token_hash(std::string_view secret);

}  // namespace fidelis::auth
