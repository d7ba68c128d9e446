#pragma once
// audit: who changed what, when. Every change made through the API or the CLI writes one entry in
// the same transaction as the change, so the log and the data never disagree. Domain events for
// other modules (segments, automation, analytics) go to the outbox the same way.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::audit {

// Who is acting. Built by the HTTP layer from the authenticated principal, or by the CLI.
struct Actor {
  std::string type = "system";  // "user", "api_key", "cli", "system", "public"
  std::optional<int64_t> id;
  std::string name;             // user e-mail, API key name, OS user
  std::string ip;
  std::string request_id;
  static Actor cli(std::string name) { return Actor{"cli", std::nullopt, std::move(name), "", ""}; }
};

struct Change {
  std::string action;     // "customer.create", "customer.update", "apikey.revoke", ...
  std::string entity;     // "customer", "user", "api_key", ...
  std::string entity_id;  // the changed thing's id
  std::optional<std::string> before;  // JSON object text: identifying state before (ids, version)
  std::optional<std::string> after;   // JSON object text: state after
};

struct Entry {
  int64_t id = 0;
  Millis at = 0;
  Actor actor;
  Change change;
};

// Writes one entry inside `tx`.
Status record(storage::Tx& tx, const Actor& actor, const Change& change, Millis at);

struct Query {
  std::optional<std::string> entity;
  std::optional<std::string> entity_id;
  std::optional<int64_t> before_id;  // cursor: entries with a smaller id (newest first)
  int limit = 50;                    // 1..500
};
struct Page {
  std::vector<Entry> items;
  std::optional<int64_t> next_before_id;  // nullopt at the end
};
Result<Page> list(storage::Db& db, const Query& q);

// A domain event in the outbox table, written inside the transaction of the change that caused it.
struct Event {
  std::string type;  // "customer.created", "customer.updated", "customer.deleted", ...
  std::optional<int64_t> customer_id;
  std::string entity_id;
  std::string payload = "{}";  // JSON object text
};
Status emit(storage::Tx& tx, const Event& event, Millis at);

}  // namespace fidelis::audit
