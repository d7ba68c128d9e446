// Storing a batch: visitors, sessions (cut at 30 minutes of silence), events, and the counters of
// stitched visitors, all in one transaction.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "tracking/tracking.h"

namespace fidelis::tracking {

using storage::Value;

namespace {

constexpr size_t kEventColumns = 14;
constexpr size_t kRowsPerInsert = 32;  // events per multi-row INSERT

std::string insert_events_sql(size_t rows) {
  std::string sql =
      "INSERT INTO web_events (session_id, visitor_id, customer_id, type, name, at, received_at, url, title, sku, query, "
      "quantity, step, properties) VALUES ";
  for (size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (size_t c = 0; c < kEventColumns; ++c) sql += fmt::format("{}${}", c == 0 ? "" : ", ", r * kEventColumns + c + 1);
    sql += ")";
  }
  return sql;
}

Value text_or_null(const std::string& s) { return s.empty() ? storage::null() : Value(s); }

struct OpenSession {
  int64_t id = 0;
  Millis started = 0, last = 0;
  Source source = Source::kDirect;
  int64_t page_views = 0, events = 0;  // added by this batch
  bool changed = false;
};

Source parse_source(std::string_view s) {
  for (size_t i = 0; i < kSourceCount; ++i)
    if (source_name(static_cast<Source>(i)) == s) return static_cast<Source>(i);
  return Source::kDirect;
}

// What this batch adds to one (customer, visitor) counters row.
struct CounterDelta {
  int64_t visits = 0, page_views = 0, events = 0;
  Millis first = 0, last = 0;
  Source last_source = Source::kDirect;
  int64_t by_source[kSourceCount] = {};
};

Status add_counters(storage::Tx& tx, int64_t customer_id, const std::string& visitor_id, const CounterDelta& d) {
  std::vector<Value> p = {customer_id, visitor_id,  d.visits, d.page_views,
                          d.events,    d.first,     d.last,   std::string(source_name(d.last_source))};
  for (int64_t n : d.by_source) p.emplace_back(n);
  static const std::string sql = [] {
    std::string s =
        "INSERT INTO customer_web_counters (customer_id, visitor_id, visits, page_views, events, first_visit_at, "
        "last_visit_at, last_source";
    for (size_t i = 0; i < kSourceCount; ++i) s += fmt::format(", visits_{}", source_name(static_cast<Source>(i)));
    s += ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8";
    for (size_t i = 0; i < kSourceCount; ++i) s += fmt::format(", ${}", 9 + i);
    s += ") ON CONFLICT (customer_id, visitor_id) DO UPDATE SET "
         "visits = customer_web_counters.visits + excluded.visits, "
         "page_views = customer_web_counters.page_views + excluded.page_views, "
         "events = customer_web_counters.events + excluded.events, "
         "first_visit_at = CASE WHEN excluded.first_visit_at < customer_web_counters.first_visit_at "
         "THEN excluded.first_visit_at ELSE customer_web_counters.first_visit_at END, "
         "last_visit_at = CASE WHEN excluded.last_visit_at > customer_web_counters.last_visit_at "
         "THEN excluded.last_visit_at ELSE customer_web_counters.last_visit_at END, "
         "last_source = CASE WHEN excluded.last_visit_at >= customer_web_counters.last_visit_at "
         "THEN excluded.last_source ELSE customer_web_counters.last_source END";
    for (size_t i = 0; i < kSourceCount; ++i) {
      auto n = source_name(static_cast<Source>(i));
      s += fmt::format(", visits_{0} = customer_web_counters.visits_{0} + excluded.visits_{0}", n);
    }
    return s;
  }();
  FIDELIS_RETURN_IF_ERROR(tx.exec(sql, p));
  return ok();
}

Status flush_session(storage::Tx& tx, const OpenSession& s) {
  if (!s.changed) return ok();
  Value p[] = {s.id, s.started, s.last, s.page_views, s.events};
  FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE web_sessions SET started_at = $2, last_at = $3, page_views = page_views + $4, "
                                  "events = events + $5 WHERE id = $1",
                                  p));
  return ok();
}

}  // namespace

TrackingService::TrackingService(storage::Db& db, const Clock& clock, Options options)
    : db_(db), clock_(clock), options_(options) {}

bool TrackingService::may_store(const Privacy& p) const {
  if (options_.honor_dnt && p.do_not_track) return false;
  if (options_.require_consent && !p.consent) return false;
  return true;
}

Result<IngestResult> TrackingService::ingest(std::vector<Event> events) {
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(validate(events, now));
  // Each visitor's events in time order (stable: same-time events keep the batch order).
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (events[a].visitor_id != events[b].visitor_id) return events[a].visitor_id < events[b].visitor_id;
    return *events[a].at < *events[b].at;
  });
  IngestResult result;
  Status st = db_.transact([&](storage::Tx& tx) -> Status {
    result = {};
    std::vector<Value> rows;  // event rows, kEventColumns values each
    rows.reserve(events.size() * kEventColumns);
    size_t i = 0;
    while (i < order.size()) {
      const std::string& vid = events[order[i]].visitor_id;
      size_t end = i;
      while (end < order.size() && events[order[end]].visitor_id == vid) ++end;
      Millis first = *events[order[i]].at, last = *events[order[end - 1]].at;

      Value vp[] = {vid, first, last};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> visitor,
          tx.one("INSERT INTO web_visitors (visitor_id, first_seen_at, last_seen_at) VALUES ($1, $2, $3) "
                 "ON CONFLICT (visitor_id) DO UPDATE SET "
                 "first_seen_at = CASE WHEN excluded.first_seen_at < web_visitors.first_seen_at "
                 "THEN excluded.first_seen_at ELSE web_visitors.first_seen_at END, "
                 "last_seen_at = CASE WHEN excluded.last_seen_at > web_visitors.last_seen_at "
                 "THEN excluded.last_seen_at ELSE web_visitors.last_seen_at END "
                 "RETURNING customer_id",
                 vp));
      std::optional<int64_t> customer = visitor ? visitor->opt_i64(0) : std::nullopt;
      Value customer_value = customer ? Value(*customer) : storage::null();

      Value sp[] = {vid};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> latest,
                               tx.one("SELECT id, started_at, last_at, source FROM web_sessions WHERE visitor_id = $1 "
                                      "ORDER BY last_at DESC LIMIT 1",
                                      sp));
      std::optional<OpenSession> cur;
      if (latest) cur = OpenSession{latest->i64(0), latest->i64(1), latest->i64(2), parse_source(latest->str(3))};
      CounterDelta delta;
      delta.first = first;
      delta.last = last;
      if (cur) delta.last_source = cur->source;

      for (size_t k = i; k < end; ++k) {
        const Event& e = events[order[k]];
        Millis at = *e.at;
        if (!cur || at > cur->last + kSessionGap || at < cur->started - kSessionGap) {
          if (cur) FIDELIS_RETURN_IF_ERROR(flush_session(tx, *cur));
          Source src = classify_source(e.url, e.referrer, e.utm);
          Value np[] = {vid,
                        customer_value,
                        at,
                        std::string(source_name(src)),
                        text_or_null(e.referrer),
                        text_or_null(e.utm.source),
                        text_or_null(e.utm.medium),
                        text_or_null(e.utm.campaign),
                        text_or_null(e.url)};
          FIDELIS_ASSIGN_OR_RETURN(
              int64_t made,
              tx.insert_id("INSERT INTO web_sessions (visitor_id, customer_id, started_at, last_at, source, referrer, "
                           "utm_source, utm_medium, utm_campaign, landing_url, page_views, events) "
                           "VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, 0, 0)",
                           np));
          cur = OpenSession{made, at, at, src};
          ++result.sessions_started;
          ++delta.visits;
          ++delta.by_source[static_cast<size_t>(src)];
          delta.last_source = src;
        }
        cur->started = std::min(cur->started, at);
        cur->last = std::max(cur->last, at);
        cur->changed = true;
        ++cur->events;
        ++delta.events;
        if (e.type == EventType::kPageView) {
          ++cur->page_views;
          ++delta.page_views;
        }
        rows.insert(rows.end(), {cur->id, vid, customer_value, std::string(event_type_name(e.type)), text_or_null(e.name), at,
                                 now, text_or_null(e.url), text_or_null(e.title), text_or_null(e.sku), text_or_null(e.query),
                                 e.quantity ? Value(*e.quantity) : storage::null(), text_or_null(e.step),
                                 text_or_null(e.properties)});
      }
      if (cur) FIDELIS_RETURN_IF_ERROR(flush_session(tx, *cur));
      if (customer) FIDELIS_RETURN_IF_ERROR(add_counters(tx, *customer, vid, delta));
      i = end;
    }
    static const std::string many = insert_events_sql(kRowsPerInsert);
    static const std::string one = insert_events_sql(1);
    size_t n = rows.size() / kEventColumns, at = 0;
    std::span<const Value> all(rows);
    for (; at + kRowsPerInsert <= n; at += kRowsPerInsert)
      FIDELIS_RETURN_IF_ERROR(tx.exec(many, all.subspan(at * kEventColumns, kRowsPerInsert * kEventColumns)));
    for (; at < n; ++at) FIDELIS_RETURN_IF_ERROR(tx.exec(one, all.subspan(at * kEventColumns, kEventColumns)));
    result.accepted = static_cast<int64_t>(n);
    return ok();
  });
  if (!st) return st.error();
  return result;
}

Result<int64_t> stitch(storage::Tx& tx, std::string_view visitor_id, int64_t customer_id, Millis now) {
  if (!valid_visitor_id(visitor_id))
    return Error::invalid_argument("visitor_id", "must be 1 to 64 of letters, digits, '.', '_', ':' and '-'");
  Value cp[] = {customer_id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> live,
                           tx.one("SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL", cp));
  if (!live) return Error::not_found("customer_id", fmt::format("no customer {}", customer_id));
  std::string vid(visitor_id);
  Value p[] = {vid, customer_id, now};
  FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO web_visitors (visitor_id, customer_id, first_seen_at, last_seen_at, stitched_at) "
                                  "VALUES ($1, $2, $3, $3, $3) ON CONFLICT (visitor_id) DO UPDATE SET "
                                  "customer_id = excluded.customer_id, stitched_at = excluded.stitched_at",
                                  p));
  Value vc[] = {vid, customer_id};
  FIDELIS_RETURN_IF_ERROR(
      tx.exec("UPDATE web_sessions SET customer_id = $2 WHERE visitor_id = $1 AND customer_id IS NULL", vc));
  FIDELIS_ASSIGN_OR_RETURN(int64_t attributed,
                           tx.exec("UPDATE web_events SET customer_id = $2 WHERE customer_id IS NULL AND session_id IN "
                                   "(SELECT id FROM web_sessions WHERE visitor_id = $1 AND customer_id = $2)",
                                   vc));
  // The (customer, visitor) counters, recounted from the sessions now attributed.
  FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM customer_web_counters WHERE customer_id = $2 AND visitor_id = $1", vc));
  std::string by_source;
  for (size_t i = 0; i < kSourceCount; ++i)
    by_source += fmt::format(", SUM(CASE WHEN source = '{}' THEN 1 ELSE 0 END)", source_name(static_cast<Source>(i)));
  std::string columns;
  for (size_t i = 0; i < kSourceCount; ++i) columns += fmt::format(", visits_{}", source_name(static_cast<Source>(i)));
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      fmt::format("INSERT INTO customer_web_counters (customer_id, visitor_id, visits, page_views, events, first_visit_at, "
                  "last_visit_at, last_source{}) "
                  "SELECT CAST($2 AS BIGINT), CAST($1 AS TEXT), COUNT(*), SUM(page_views), SUM(events), MIN(started_at), "
                  "MAX(last_at), '' {} FROM web_sessions WHERE visitor_id = $1 AND customer_id = $2 HAVING COUNT(*) > 0",
                  columns, by_source),
      vc));
  FIDELIS_RETURN_IF_ERROR(
      tx.exec("UPDATE customer_web_counters SET last_source = (SELECT s.source FROM web_sessions s WHERE s.visitor_id = $1 "
              "AND s.customer_id = $2 ORDER BY s.last_at DESC LIMIT 1) WHERE customer_id = $2 AND visitor_id = $1",
              vc));
  return attributed;
}

Result<Counters> counters(storage::Db& db, int64_t customer_id) {
  Counters c;
  Status st = db.read([&](storage::Tx& tx) -> Status {
    std::string cols;
    for (size_t i = 0; i < kSourceCount; ++i) cols += fmt::format(", SUM(visits_{})", source_name(static_cast<Source>(i)));
    Value p[] = {customer_id};
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> r,
        tx.one(fmt::format("SELECT COUNT(*), SUM(visits), SUM(page_views), SUM(events), MIN(first_visit_at), "
                           "MAX(last_visit_at){} FROM customer_web_counters WHERE customer_id = $1",
                           cols),
               p));
    if (!r || r->i64(0) == 0) return ok();
    c.visits = r->i64(1);
    c.page_views = r->i64(2);
    c.events = r->i64(3);
    c.first_visit_at = r->opt_i64(4);
    c.last_visit_at = r->opt_i64(5);
    for (size_t i = 0; i < kSourceCount; ++i) c.visits_by_source[i] = r->i64(6 + i);
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> last,
                             tx.one("SELECT last_source FROM customer_web_counters WHERE customer_id = $1 "
                                    "ORDER BY last_visit_at DESC LIMIT 1",
                                    p));
    if (last) c.last_source = last->str(0);
    return ok();
  });
  if (!st) return st.error();
  return c;
}

}  // namespace fidelis::tracking
