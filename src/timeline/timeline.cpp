// The customer's timeline: every available source read newest first through its index, merged in
// one UNION ALL statement, cut at the cursor (time, kind, id).

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/text.h"
#include "timeline/timeline.h"

namespace fidelis::timeline {

using storage::Value;

std::string encode_cursor(const Cursor& c) { return text::base64url_encode(fmt::format("{}:{}:{}", c.at, c.kind, c.id)); }

Result<Cursor> decode_cursor(std::string_view text) {
  auto bad = [] { return Error::invalid_argument("cursor", "is not a cursor from a previous page"); };
  if (text.empty() || text.size() > 200) return bad();
  std::string raw;
  if (!text::base64url_decode(text, raw)) return bad();
  size_t a = raw.find(':'), b = raw.rfind(':');
  if (a == std::string::npos || b == a) return bad();
  Cursor c;
  c.kind = raw.substr(a + 1, b - a - 1);
  try {
    size_t used = 0;
    c.at = std::stoll(raw.substr(0, a), &used);
    if (used != a) return bad();
    c.id = std::stoll(raw.substr(b + 1), &used);
    if (used != raw.size() - b - 1) return bad();
  } catch (const std::exception&) {
    return bad();
  }
  return c;
}

TimelineService::TimelineService(storage::Db& db) : db_(db) {}

std::vector<std::string> TimelineService::kinds() {
  std::vector<std::string> out;
  for (const auto& s : timeline_sources()) out.push_back(s.kind);
  return out;
}

Result<TimelinePage> TimelineService::list(const TimelineQuery& q) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  for (const auto& k : q.kinds) {
    bool is_source = std::any_of(timeline_sources().begin(), timeline_sources().end(), [&](const auto& s) { return s.kind == k; });
    if (!is_source) return Error::invalid_argument("kind", fmt::format("unknown kind '{}'; expected {}", k, fmt::join(kinds(), ", ")));
  }
  if (q.from && q.to && *q.from >= *q.to) return Error::invalid_argument("from", "must be before to");
  std::vector<const SourceSpec*> used;
  for (const auto& s : timeline_sources())
    if (q.kinds.empty() || std::find(q.kinds.begin(), q.kinds.end(), s.kind) != q.kinds.end()) used.push_back(&s);

  TimelinePage page;
  Status st = db_.read([&](storage::Tx& tx) -> Status {
    Value cp[] = {q.customer_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> live,
                             tx.one("SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL", cp));
    if (!live) return Error::not_found("id", fmt::format("no customer {}", q.customer_id));
    if (used.empty()) return ok();
    int fetch = q.limit + 1;
    std::string sql;
    for (size_t i = 0; i < used.size(); ++i) {
      const SourceSpec& s = *used[i];
      if (i > 0) sql += " UNION ALL ";
      sql += fmt::format(
          "SELECT * FROM (SELECT CAST('{kind}' AS TEXT) AS kind, {id} AS id, {at} AS at, {channel} AS channel, "
          "{title} AS title, {t1} AS text1, {t2} AS text2, {n1} AS number1, {n2} AS number2 FROM {from} "
          "WHERE {customer} = $1 AND {at} >= $2 AND {at} < $3 AND ({at} < $4 OR ({at} = $4 AND "
          "(CAST('{kind}' AS TEXT) > CAST($5 AS TEXT) OR (CAST('{kind}' AS TEXT) = CAST($5 AS TEXT) AND {id} < $6)))) "
          "AND (CAST($7 AS TEXT) = '' OR {channel} = CAST($7 AS TEXT)) "
          "ORDER BY {at} DESC, {id} DESC LIMIT {fetch}) AS s{i}",
          fmt::arg("kind", s.kind), fmt::arg("id", s.id), fmt::arg("at", s.at), fmt::arg("channel", s.channel),
          fmt::arg("title", s.title), fmt::arg("t1", s.text1), fmt::arg("t2", s.text2), fmt::arg("n1", s.number1),
          fmt::arg("n2", s.number2), fmt::arg("from", s.from), fmt::arg("customer", s.customer), fmt::arg("fetch", fetch),
          fmt::arg("i", i));
    }
    sql += fmt::format(" ORDER BY at DESC, kind ASC, id DESC LIMIT {}", fetch);
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    Value p[] = {q.customer_id,
                 q.from.value_or(std::numeric_limits<int64_t>::min()),
                 q.to.value_or(kMax),
                 q.cursor ? q.cursor->at : kMax,
                 q.cursor ? q.cursor->kind : std::string(),
                 q.cursor ? q.cursor->id : kMax,
                 q.channel.value_or("")};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(sql, p));
    for (const auto& r : rows.rows) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        const Item& last = page.items.back();
        page.next = Cursor{last.at, last.kind, last.id};
        break;
      }
      page.items.push_back(Item{r.str(0), r.i64(1), r.i64(2), r.str(3), r.str(4), r.opt_str(5), r.opt_str(6), r.opt_i64(7),
                                r.opt_i64(8)});
    }
    return ok();
  });
  if (!st) return st.error();
  return page;
}

}  // namespace fidelis::timeline
