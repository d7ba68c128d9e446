#pragma once
// timeline: interactions from every channel, and one timeline per customer that merges them with
// the customer's web sessions, e-mails sent, consent changes and (when the orders module's tables
// exist) orders, order status changes and shipments.
//
// The timeline is a list of per-kind SQL sources (timeline_sources.cpp): each reads one table by
// (customer_id, time) through an index, newest first, and the sources are merged in one UNION ALL
// statement. Adding a kind is adding one entry. Items are ordered by time (newest first), then kind,
// then id (highest first); the cursor carries that triple, so pages never skip or repeat an item
// even when items share a time.
//
// Thread-safety: InteractionService and TimelineService are shared by all request threads.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::timeline {

// ---- interactions (interactions.cpp) ----

// call, meeting, email, sms, chat, social, store_visit, letter
inline constexpr std::string_view kChannels[] = {"call", "meeting", "email", "sms", "chat", "social", "store_visit", "letter"};
inline constexpr std::string_view kDirections[] = {"inbound", "outbound"};

struct Interaction {
  int64_t id = 0;
  int64_t customer_id = 0;
  std::string channel, direction;
  Millis at = 0;
  std::optional<int64_t> agent_id;  // a user
  std::string subject, notes, outcome;
  std::string source;  // "api", "import:FILE"
  int64_t version = 1;
  Millis created_at = 0, updated_at = 0;
};

// A create (customer_id, channel, direction required; `at` defaults to now) or a change (unset
// fields are kept; clear_agent unsets the agent).
struct InteractionInput {
  std::optional<int64_t> customer_id;
  std::optional<std::string> channel, direction;
  std::optional<Millis> at;
  std::optional<int64_t> agent_id;
  std::optional<std::string> subject, notes, outcome;
  bool clear_agent = false;
};
// Limits: subject 200 bytes, outcome 100, notes 10000; `at` not more than a day in the future.

struct InteractionQuery {
  std::optional<int64_t> customer_id;
  std::optional<std::string> channel;
  std::optional<int64_t> after_id;  // cursor: ids above
  int limit = 50;                   // 1..500
};
struct InteractionPage {
  std::vector<Interaction> items;
  std::optional<int64_t> next_after_id;
};

class InteractionService {
 public:
  InteractionService(storage::Db& db, const Clock& clock);

  // InvalidArgument naming the field; NotFound ("customer_id", "agent_id").
  Result<Interaction> create(InteractionInput in, const audit::Actor& actor, std::string_view source = "api");
  Result<Interaction> get(int64_t id);  // NotFound ("id")
  // FailedPrecondition ("If-Match") when `expected_version` is stale; NotFound ("id").
  Result<Interaction> update(int64_t id, int64_t expected_version, InteractionInput in, const audit::Actor& actor);
  Status remove(int64_t id, const audit::Actor& actor);  // NotFound ("id")
  Result<InteractionPage> list(const InteractionQuery& q);

 private:
  storage::Db& db_;
  const Clock& clock_;
};

// ---- import (interaction_import.cpp) ----

// A CSV file with a header row; columns (any order, case-insensitive): customer_id or
// customer_email (one of them), channel, direction, at (ISO 8601, or YYYY-MM-DD HH:MM[:SS] taken
// as UTC), agent (a user's e-mail, optional), subject, notes, outcome. Valid rows are committed in
// batches of 500; each refused row is reported with its line, the field and the reason.
struct ImportReject {
  int64_t line = 0;
  std::string field, reason;
};
struct ImportReport {
  int64_t rows = 0, imported = 0;
  std::vector<ImportReject> rejects;
};
// InvalidArgument ("file") for a missing header or required column; NotFound ("file").
Result<ImportReport> import_interactions(storage::Db& db, const Clock& clock, const std::string& path,
                                         const audit::Actor& actor);

// ---- the timeline (timeline.cpp, timeline_sources.cpp) ----

// interaction, web_session, email, consent, order, order_status, shipment
struct Item {
  std::string kind;
  int64_t id = 0;
  Millis at = 0;
  std::string channel;   // the interaction's channel; "web", "email", the order's channel, the carrier...
  std::string title;     // subject, landing page, e-mail subject, order number, ...
  std::optional<std::string> text1, text2;  // per kind (see docs/TIMELINE.md)
  std::optional<int64_t> number1, number2;  // per kind
};

struct Cursor {
  Millis at = 0;
  std::string kind;
  int64_t id = 0;
};
std::string encode_cursor(const Cursor& c);
Result<Cursor> decode_cursor(std::string_view text);  // InvalidArgument ("cursor")

struct TimelineQuery {
  int64_t customer_id = 0;
  std::vector<std::string> kinds;  // empty: all available
  std::optional<std::string> channel;
  std::optional<Millis> from, to;   // [from, to)
  std::optional<Cursor> cursor;
  int limit = 50;                   // 1..500
};
struct TimelinePage {
  std::vector<Item> items;
  std::optional<Cursor> next;
};

// One kind of timeline item: a SELECT of the item columns from one table. See timeline_sources.cpp.
struct SourceSpec {
  std::string kind;
  std::string from;            // FROM clause (table and joins)
  std::string customer, id, at, channel, title, text1, text2, number1, number2;  // SQL expressions
};
const std::vector<SourceSpec>& timeline_sources();

class TimelineService {
 public:
  TimelineService(storage::Db& db);
  // InvalidArgument ("kind", "limit", "from"); NotFound ("id") for no live customer.
  Result<TimelinePage> list(const TimelineQuery& q);
  // Every kind of item, in the order of timeline_sources().
  std::vector<std::string> kinds();

 private:
  storage::Db& db_;
};

}  // namespace fidelis::timeline
