// Interactions: validation, create, read, change, delete, list.

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "timeline/timeline_internal.h"

namespace fidelis::timeline {

using storage::Value;

namespace {

constexpr std::string_view kColumns =
    "id, customer_id, channel, direction, at, agent_id, subject, notes, outcome, source, version, created_at, updated_at";

Interaction from_row(const storage::Row& r) {
  return Interaction{r.i64(0), r.i64(1), r.str(2), r.str(3), r.i64(4), r.opt_i64(5), r.str(6),
                     r.str(7), r.str(8), r.str(9), r.i64(10), r.i64(11), r.i64(12)};
}

template <size_t N>
bool one_of(std::string_view v, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), v) != std::end(set);
}

Status check_text(std::optional<std::string>& v, std::string_view field, size_t max) {
  if (!v) return ok();
  v = std::string(text::trim(*v));
  if (v->size() > max) return Error::invalid_argument(std::string(field), fmt::format("is longer than {} bytes", max));
  if (!text::is_valid_utf8(*v)) return Error::invalid_argument(std::string(field), "is not valid UTF-8");
  return ok();
}

}  // namespace

// Checks and normalises what an input sets. Shared with the import.
Status check_interaction(InteractionInput& in, Millis now) {
  if (in.channel) {
    *in.channel = text::to_lower_ascii(text::trim(*in.channel));
    if (!one_of(*in.channel, kChannels))
      return Error::invalid_argument("channel", fmt::format("expected one of {}", fmt::join(kChannels, ", ")));
  }
  if (in.direction) {
    *in.direction = text::to_lower_ascii(text::trim(*in.direction));
    if (!one_of(*in.direction, kDirections)) return Error::invalid_argument("direction", "expected inbound or outbound");
  }
  if (in.at && *in.at > now + 24LL * 3600 * 1000) return Error::invalid_argument("at", "is more than a day in the future");
  if (in.customer_id && *in.customer_id <= 0) return Error::invalid_argument("customer_id", "must be a positive integer");
  if (in.agent_id && *in.agent_id <= 0) return Error::invalid_argument("agent_id", "must be a positive integer");
  FIDELIS_RETURN_IF_ERROR(check_text(in.subject, "subject", 200));
  FIDELIS_RETURN_IF_ERROR(check_text(in.outcome, "outcome", 100));
  FIDELIS_RETURN_IF_ERROR(check_text(in.notes, "notes", 10'000));
  return ok();
}

// Checks that the customer is live and the agent a user, in `tx`.
Status check_references(storage::Tx& tx, const InteractionInput& in) {
  if (in.customer_id) {
    Value p[] = {*in.customer_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> r,
                             tx.one("SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL", p));
    if (!r) return Error::not_found("customer_id", fmt::format("no customer {}", *in.customer_id));
  }
  if (in.agent_id) {
    Value p[] = {*in.agent_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> r, tx.one("SELECT id FROM users WHERE id = $1", p));
    if (!r) return Error::not_found("agent_id", fmt::format("no user {}", *in.agent_id));
  }
  return ok();
}

// Inserts a checked create in `tx`, with its audit entry.
Result<Interaction> insert_interaction(storage::Tx& tx, const InteractionInput& in, const audit::Actor& actor,
                                       std::string_view source, Millis now) {
  Interaction i{0,
                *in.customer_id,
                *in.channel,
                *in.direction,
                in.at.value_or(now),
                in.agent_id,
                in.subject.value_or(""),
                in.notes.value_or(""),
                in.outcome.value_or(""),
                std::string(source),
                1,
                now,
                now};
  Value p[] = {i.customer_id, i.channel, i.direction, i.at, storage::opt(i.agent_id), i.subject, i.notes, i.outcome,
               i.source, now};
  FIDELIS_ASSIGN_OR_RETURN(
      i.id, tx.insert_id("INSERT INTO interactions (customer_id, channel, direction, at, agent_id, subject, notes, "
                         "outcome, source, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                         "$9, 1, $10, $10)",
                         p));
  FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor,
                                        {"interaction.create", "interaction", std::to_string(i.id), std::nullopt,
                                         fmt::format(R"({{"customer_id":{},"channel":"{}"}})", i.customer_id, i.channel)},
                                        now));
  FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"interaction.created", i.customer_id, std::to_string(i.id),
                                           fmt::format(R"({{"channel":"{}","direction":"{}"}})", i.channel, i.direction)},
                                      now));
  return i;
}

InteractionService::InteractionService(storage::Db& db, const Clock& clock) : db_(db), clock_(clock) {}

Result<Interaction> InteractionService::create(InteractionInput in, const audit::Actor& actor, std::string_view source) {
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(check_interaction(in, now));
  if (!in.customer_id) return Error::invalid_argument("customer_id", "is required");
  if (!in.channel) return Error::invalid_argument("channel", "is required");
  if (!in.direction) return Error::invalid_argument("direction", "is required");
  if (!in.agent_id && actor.type == "user") in.agent_id = actor.id;
  Interaction out;
  Status st = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(check_references(tx, in));
    FIDELIS_ASSIGN_OR_RETURN(out, insert_interaction(tx, in, actor, source, now));
    return ok();
  });
  if (!st) return st.error();
  return out;
}

Result<Interaction> InteractionService::get(int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> r,
                           db_.one(fmt::format("SELECT {} FROM interactions WHERE id = $1", kColumns), p));
  if (!r) return Error::not_found("id", fmt::format("no interaction {}", id));
  return from_row(*r);
}

Result<Interaction> InteractionService::update(int64_t id, int64_t expected_version, InteractionInput in,
                                               const audit::Actor& actor) {
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(check_interaction(in, now));
  Interaction out;
  Status st = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> r,
                             tx.one(fmt::format("SELECT {} FROM interactions WHERE id = $1", kColumns), p));
    if (!r) return Error::not_found("id", fmt::format("no interaction {}", id));
    out = from_row(*r);
    if (out.version != expected_version)
      return Error::failed_precondition("If-Match", fmt::format("the interaction is at version {}", out.version));
    FIDELIS_RETURN_IF_ERROR(check_references(tx, in));
    if (in.customer_id) out.customer_id = *in.customer_id;
    if (in.channel) out.channel = *in.channel;
    if (in.direction) out.direction = *in.direction;
    if (in.at) out.at = *in.at;
    if (in.agent_id) out.agent_id = in.agent_id;
    if (in.clear_agent) out.agent_id.reset();
    if (in.subject) out.subject = *in.subject;
    if (in.notes) out.notes = *in.notes;
    if (in.outcome) out.outcome = *in.outcome;
    out.version += 1;
    out.updated_at = now;
    Value u[] = {id, out.customer_id, out.channel, out.direction, out.at, storage::opt(out.agent_id), out.subject,
                 out.notes, out.outcome, out.version, now};
    FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE interactions SET customer_id = $2, channel = $3, direction = $4, at = $5, "
                                    "agent_id = $6, subject = $7, notes = $8, outcome = $9, version = $10, updated_at = $11 "
                                    "WHERE id = $1",
                                    u));
    return audit::record(tx, actor,
                         {"interaction.update", "interaction", std::to_string(id),
                          fmt::format(R"({{"version":{}}})", expected_version), fmt::format(R"({{"version":{}}})", out.version)},
                         now);
  });
  if (!st) return st.error();
  return out;
}

Status InteractionService::remove(int64_t id, const audit::Actor& actor) {
  Millis now = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> r,
                             tx.one("DELETE FROM interactions WHERE id = $1 RETURNING customer_id", p));
    if (!r) return Error::not_found("id", fmt::format("no interaction {}", id));
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor,
                                          {"interaction.delete", "interaction", std::to_string(id),
                                           fmt::format(R"({{"customer_id":{}}})", r->i64(0)), std::nullopt},
                                          now));
    return audit::emit(tx, {"interaction.deleted", r->i64(0), std::to_string(id)}, now);
  });
}

Result<InteractionPage> InteractionService::list(const InteractionQuery& q) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  if (q.channel && !one_of(*q.channel, kChannels))
    return Error::invalid_argument("channel", fmt::format("expected one of {}", fmt::join(kChannels, ", ")));
  std::string where = "WHERE id > $1";
  std::vector<Value> p = {q.after_id.value_or(0)};
  if (q.customer_id) {
    p.emplace_back(*q.customer_id);
    where += fmt::format(" AND customer_id = ${}", p.size());
  }
  if (q.channel) {
    p.emplace_back(*q.channel);
    where += fmt::format(" AND channel = ${}", p.size());
  }
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query(fmt::format("SELECT {} FROM interactions {} ORDER BY id LIMIT {}", kColumns, where, q.limit + 1), p));
  InteractionPage page;
  for (const auto& r : rows.rows) {
    if (static_cast<int>(page.items.size()) == q.limit) {
      page.next_after_id = page.items.back().id;
      break;
    }
    page.items.push_back(from_row(r));
  }
  return page;
}

}  // namespace fidelis::timeline
