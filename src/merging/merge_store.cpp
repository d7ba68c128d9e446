// Merging two customers and undoing it: survivorship into the winner, attached rows moved, the
// loser kept as a soft-deleted record, and everything needed to undo it recorded.

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "merging/merging_internal.h"

namespace fidelis::merging {

using storage::Value;
using Json = nlohmann::json;

// ---- the tables attached to a customer ----

const std::vector<AttachedTable>& attached_tables() {
  static const std::vector<AttachedTable> tables = {
      {"customer_external_ids", {"source", "external_id"}},
      {"customer_provenance", {"import_id", "line"}},
      {"customer_flags", {"field", "value"}},
      {"consent_events", {"id"}},
      {"consent_statements", {"source", "channel", "purpose"}},
      {"questionnaire_links", {"questionnaire_id"}},
      {"questionnaire_answers", {"questionnaire_id", "question_key"}},
      {"email_status", {"email_key"}},
      {"email_events", {"id"}},
      {"postal_npai", {}},
      {"orders", {"id"}},
      {"order_lines", {"id"}},
      {"order_status_history", {"id"}},
      {"order_returns", {"id"}},
      {"shipments", {"id"}},
      {"slot_bookings", {"order_id"}},
      {"mail_messages", {"id"}},
      {"web_visitors", {"visitor_id"}},
      {"web_sessions", {"id"}},
      {"web_events", {"id"}},
      {"customer_web_counters", {"visitor_id"}},
      {"interactions", {"id"}},
  };
  return tables;
}

// ---- rows as JSON ----

Json value_json(const Value& v) {
  if (std::holds_alternative<int64_t>(v)) return std::get<int64_t>(v);
  if (std::holds_alternative<double>(v)) return std::get<double>(v);
  if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  return nullptr;
}

Value json_value(const Json& j) {
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return j.get<std::string>();
  return storage::null();
}

// ---- the winner's profile rows ----

namespace {

struct ProfileTable {
  std::string_view table;
  std::vector<std::string_view> columns;  // beside customer_id
  std::vector<size_t> identity;           // indexes into columns; empty: the customers row itself
  bool positional = false;                // columns[0] is "position", renumbered on restore
  // Columns from this index on say where a row came from, not what it is (customer_emails.import_id):
  // left out of the comparison of rows, and the row's current value kept where a snapshot has none
  // (a merge recorded before the column existed).
  size_t provenance_from = SIZE_MAX;
};

const std::vector<ProfileTable>& profile_tables() {
  static const std::vector<ProfileTable> t = {
      {"customers", {"civility", "first_name", "last_name", "birth_date", "street", "street2", "postcode", "city", "country"}, {}},
      {"customer_emails", {"position", "email", "email_key", "label", "import_id"}, {2}, true, 4},
      {"customer_phones", {"position", "raw", "e164", "phone_key", "type", "valid", "label"}, {3}, true},
      {"customer_household", {"position", "relation", "first_name", "birth_date"}, {1, 2}, true},
      {"customer_affinities", {"category", "strength"}, {0}},
      {"customer_consents", {"channel", "purpose", "granted", "source", "changed_at"}, {0, 1}},
      {"customer_tags", {"tag"}, {0}},
      {"customer_custom_values", {"key", "value_type", "value_text", "value_int", "value_real"}, {0}},
  };
  return t;
}

std::string column_list(const ProfileTable& t) {
  std::string out;
  for (auto c : t.columns) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

using RowValues = std::vector<Value>;

Result<std::vector<RowValues>> dump_table(storage::Tx& tx, const ProfileTable& t, int64_t id) {
  std::string where = t.table == "customers" ? "id = $1" : "customer_id = $1";
  std::string order = t.positional ? " ORDER BY position" : "";
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                           tx.query(fmt::format("SELECT {} FROM {} WHERE {}{}", column_list(t), t.table, where, order), p));
  std::vector<RowValues> out;
  for (const auto& r : rows.rows) {
    RowValues v;
    for (size_t i = 0; i < t.columns.size(); ++i) v.push_back(r[i]);
    out.push_back(std::move(v));
  }
  return out;
}

std::string identity_of(const ProfileTable& t, const RowValues& r) {
  Json k = Json::array();
  for (size_t i : t.identity) k.push_back(value_json(r[i]));
  return k.dump();
}

// Equal apart from the position.
bool same_row(const ProfileTable& t, const RowValues& a, const RowValues& b) {
  for (size_t i = t.positional ? 1 : 0; i < std::min(t.columns.size(), t.provenance_from); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

Result<Json> dump_profile(storage::Tx& tx, int64_t id) {
  Json out = Json::object();
  for (const auto& t : profile_tables()) {
    FIDELIS_ASSIGN_OR_RETURN(std::vector<RowValues> rows, dump_table(tx, t, id));
    Json arr = Json::array();
    for (const auto& r : rows) {
      Json row = Json::array();
      for (const auto& v : r) row.push_back(value_json(v));
      arr.push_back(std::move(row));
    }
    out[std::string(t.table)] = std::move(arr);
  }
  return out;
}

namespace {

std::vector<RowValues> rows_of(const Json& dump, const ProfileTable& t) {
  std::vector<RowValues> out;
  auto it = dump.find(std::string(t.table));
  if (it == dump.end()) return out;
  for (const auto& row : *it) {
    RowValues r;
    for (const auto& v : row) r.push_back(json_value(v));
    // A merge recorded before a column was added holds none for it: NULL.
    while (r.size() < t.columns.size()) r.push_back(storage::null());
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

// Three-way restore of the winner: what the merge brought or changed goes back to what it was,
// unless it changed again since (the postal address as a whole). Consents are left to
// consents_from_history.
Status restore_profile(storage::Tx& tx, int64_t id, const Json& before, const Json& after) {
  for (const auto& t : profile_tables()) {
    if (t.table == "customer_consents") continue;  // they follow the consent history (consents_from_history)
    std::vector<RowValues> b = rows_of(before, t), a = rows_of(after, t);
    FIDELIS_ASSIGN_OR_RETURN(std::vector<RowValues> n, dump_table(tx, t, id));
    if (t.table == "customers") {
      if (b.empty() || a.empty() || n.empty()) continue;
      // The postal address is one value: a part of it changed since the merge (a new street typed
      // with its postcode) keeps all of it as it is now.
      auto in_address = [&](size_t i) {
        static constexpr std::string_view kAddress[] = {"street", "street2", "postcode", "city", "country"};
        return std::find(std::begin(kAddress), std::end(kAddress), t.columns[i]) != std::end(kAddress);
      };
      bool address_changed_since = false;
      for (size_t i = 0; i < t.columns.size(); ++i)
        if (in_address(i) && n[0][i] != a[0][i]) address_changed_since = true;
      std::string sets;
      std::vector<Value> p = {id};
      for (size_t i = 0; i < t.columns.size(); ++i) {
        if (n[0][i] != a[0][i] || a[0][i] == b[0][i]) continue;
        if (address_changed_since && in_address(i)) continue;
        p.push_back(b[0][i]);
        sets += fmt::format("{}{} = ${}", sets.empty() ? "" : ", ", t.columns[i], p.size());
      }
      if (!sets.empty())
        FIDELIS_RETURN_IF_ERROR(tx.exec(fmt::format("UPDATE customers SET {} WHERE id = $1", sets), p));
      continue;
    }
    auto find = [&](const std::vector<RowValues>& rows, const std::string& key) -> const RowValues* {
      for (const auto& r : rows)
        if (identity_of(t, r) == key) return &r;
      return nullptr;
    };
    std::vector<RowValues> result = n;
    bool changed = false;
    for (const auto& ar : a) {
      std::string key = identity_of(t, ar);
      const RowValues* br = find(b, key);
      if (br && same_row(t, *br, ar)) continue;  // the merge did not touch it
      auto it = std::find_if(result.begin(), result.end(), [&](const RowValues& r) { return identity_of(t, r) == key; });
      if (it == result.end() || !same_row(t, *it, ar)) continue;  // changed or removed since: keep
      if (br) {
        RowValues back = *br;
        for (size_t i = t.provenance_from; i < back.size(); ++i)
          if (std::holds_alternative<std::monostate>(back[i])) back[i] = (*it)[i];
        *it = std::move(back);
      } else {
        result.erase(it);
      }
      changed = true;
    }
    if (!changed) continue;
    Value del[] = {id};
    FIDELIS_RETURN_IF_ERROR(tx.exec(fmt::format("DELETE FROM {} WHERE customer_id = $1", t.table), del));
    std::string placeholders;
    for (size_t i = 0; i <= t.columns.size(); ++i) placeholders += fmt::format("{}${}", i ? ", " : "", i + 1);
    std::string sql = fmt::format("INSERT INTO {} (customer_id, {}) VALUES ({})", t.table, column_list(t), placeholders);
    for (size_t pos = 0; pos < result.size(); ++pos) {
      std::vector<Value> p = {id};
      for (size_t i = 0; i < t.columns.size(); ++i)
        p.push_back(t.positional && i == 0 ? Value(static_cast<int64_t>(pos)) : result[pos][i]);
      FIDELIS_RETURN_IF_ERROR(tx.exec(sql, p));
    }
  }
  return ok();
}

namespace {

// A decision of a customer's consent history, as the undoing of merges reads it.
struct Decision {
  int64_t event = 0;  // consent_events.id
  std::pair<std::string, std::string> consent;  // channel, purpose
  customers::Consent c;  // channel and purpose left at their defaults: the rules do not read them
  bool by_import = false;  // its source is an import's
};

// A merge still in force into a customer of the fold: the consent events it moved from its loser.
struct MergeIn {
  int64_t id = 0, winner = 0, loser = 0;
  Millis at = 0;
  std::optional<int64_t> mark;  // the last consent event recorded when it was made
  std::set<int64_t> events;
  // Whether decision `d` was recorded after this merge was made.
  bool before(const Decision& d) const { return mark ? *mark < d.event : at < d.c.changed_at; }
};

using ConsentState = std::map<std::pair<std::string, std::string>, const Decision*>;

// Each consent of customer `id`, from the history it holds now, is what the merges still in force
// would have made of it: the customer's own decisions in the order they were recorded, and at each
// merge's time, the merged record's consents (folded the same way, with the merges into it before)
// weighed against the customer's as the merge weighed them (customers::prevails). A decision
// replaces the one before, except an import's that an import would not have recorded over it
// (customers::import_decision_applies: a grant a merge brought in after the person withdrew stays
// out); decisions made otherwise (the API, a form, a questionnaire, a bounce) were applied as they
// came and are read so. A channel and purpose without any is no consent. So after an unmerge gave
// the loser its history back, the winner's consents are those its history would have given had
// the undone merge never been made, in whatever order merges are undone.
ConsentState fold_consents(int64_t customer, int64_t before_merge, const std::vector<const Decision*>& events,
                           const std::vector<MergeIn>& merges) {
  std::vector<const MergeIn*> into;
  for (const MergeIn& m : merges)
    if (m.winner == customer && m.id < before_merge) into.push_back(&m);  // in the order they were made
  ConsentState state;
  auto apply = [&](const Decision* d) {
    const Decision*& held = state[d->consent];
    // A decision equal to the one held changes nothing: the held one stays the proof, as a live
    // update would have kept it (once the undone merge is gone, a repeated "yes" is one).
    if (held != nullptr && held->c.granted == d->c.granted) return;
    if (held != nullptr && d->by_import && !customers::import_decision_applies(d->c, held->c, held->by_import)) return;
    held = d;
  };
  auto merge = [&](const MergeIn& m) {
    std::vector<const Decision*> theirs;
    for (const Decision* d : events)
      if (m.events.contains(d->event)) theirs.push_back(d);
    for (const auto& [key, d] : fold_consents(m.loser, m.id, theirs, merges)) {
      const Decision*& held = state[key];
      if (held == nullptr || (held->c.granted != d->c.granted &&
                              customers::prevails(d->c, d->by_import, held->c, held->by_import)))
        held = d;
    }
  };
  size_t next = 0;
  for (const Decision* d : events) {
    if (std::any_of(into.begin(), into.end(), [&](const MergeIn* m) { return m->events.contains(d->event); })) continue;
    for (; next < into.size() && into[next]->before(*d); ++next) merge(*into[next]);
    apply(d);
  }
  for (; next < into.size(); ++next) merge(*into[next]);
  return state;
}

Status consents_from_history(storage::Tx& tx, int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      tx.query("SELECT e.id, e.channel, e.purpose, e.granted, e.source, e.at, e.source_at, s.name FROM consent_events e "
               "LEFT JOIN sources s ON s.name = e.source WHERE e.customer_id = $1 ORDER BY e.at, e.id",
               p));
  std::vector<Decision> decisions;
  decisions.reserve(rows.rows.size());
  for (const auto& r : rows.rows) {
    Decision& d = decisions.emplace_back();
    d.event = r.i64(0);
    d.consent = {r.str(1), r.str(2)};
    d.by_import = !r.is_null(7);
    d.c.granted = r.i64(3) != 0;
    d.c.source = r.str(4);
    d.c.changed_at = r.i64(5);
    d.c.source_at = r.opt_i64(6);
  }
  // The merges in force into the customer, into those it merged, and so on.
  std::vector<MergeIn> merges;
  std::vector<int64_t> winners = {id};
  std::set<int64_t> seen = {id};
  while (!winners.empty()) {
    Value w[] = {winners.back()};
    winners.pop_back();
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows in,
                             tx.query("SELECT id, winner_id, loser_id, at, moved, consent_mark FROM customer_merges "
                                      "WHERE winner_id = $1 AND undone_at IS NULL ORDER BY id",
                                      w));
    for (const auto& r : in.rows) {
      MergeIn m{r.i64(0), r.i64(1), r.i64(2), r.i64(3), r.opt_i64(5), {}};
      Json moved = Json::parse(r.str(4), nullptr, false);
      if (moved.is_object() && moved.contains("consent_events"))
        for (const Json& key : moved["consent_events"])
          if (key.is_array() && !key.empty() && key[0].is_number_integer()) m.events.insert(key[0].get<int64_t>());
      if (seen.insert(m.loser).second) winners.push_back(m.loser);
      merges.push_back(std::move(m));
    }
  }
  std::sort(merges.begin(), merges.end(), [](const MergeIn& a, const MergeIn& b) { return a.id < b.id; });
  std::vector<const Decision*> events;
  for (const Decision& d : decisions) events.push_back(&d);
  ConsentState state = fold_consents(id, std::numeric_limits<int64_t>::max(), events, merges);
  FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM customer_consents WHERE customer_id = $1", p));
  for (const auto& [key, d] : state) {
    Value row[] = {id, key.first, key.second, int64_t{d->c.granted ? 1 : 0}, d->c.source, d->c.changed_at,
                   storage::opt(d->c.source_at)};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO customer_consents (customer_id, channel, purpose, granted, source, changed_at, source_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        row));
  }
  return ok();
}

}  // namespace

// ---- attached rows ----

namespace {

std::string key_where(const AttachedTable& t, size_t first_param, std::string_view alias = "") {
  std::string out;
  for (size_t i = 0; i < t.key.size(); ++i)
    out += fmt::format(" AND {}{} = ${}", alias, t.key[i], first_param + i);
  return out;
}

}  // namespace

Result<Json> move_attached(storage::Tx& tx, int64_t from, int64_t to) {
  Json moved = Json::object();
  for (const auto& t : attached_tables()) {
    std::string cols;
    for (const auto& k : t.key) cols += (cols.empty() ? "" : ", ") + k;
    Value p[] = {from};
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.query(fmt::format("SELECT {} FROM {} WHERE customer_id = $1", cols.empty() ? "1" : cols, t.table), p));
    if (rows.rows.empty()) continue;
    Json keys = Json::array();
    // Rows with their own id cannot collide: one statement moves them all.
    if (t.key.size() == 1 && t.key[0] == "id") {
      Value up[] = {to, from};
      FIDELIS_RETURN_IF_ERROR(tx.exec(fmt::format("UPDATE {} SET customer_id = $1 WHERE customer_id = $2", t.table), up));
      for (const auto& r : rows.rows) keys.push_back(Json::array({value_json(r[0])}));
    } else {
      // A row the winner already has (the same flag, the same questionnaire) stays with the loser.
      std::string sql = fmt::format(
          "UPDATE {0} SET customer_id = $1 WHERE customer_id = $2{1} AND NOT EXISTS "
          "(SELECT 1 FROM {0} x WHERE x.customer_id = $1{2})",
          t.table, key_where(t, 3), key_where(t, 3, "x."));
      for (const auto& r : rows.rows) {
        std::vector<Value> up = {to, from};
        Json key = Json::array();
        for (size_t i = 0; i < t.key.size(); ++i) {
          up.push_back(r[i]);
          key.push_back(value_json(r[i]));
        }
        FIDELIS_ASSIGN_OR_RETURN(int64_t n, tx.exec(sql, up));
        if (n > 0) keys.push_back(std::move(key));
      }
    }
    if (!keys.empty()) moved[t.table] = std::move(keys);
  }
  return moved;
}

Status move_back(storage::Tx& tx, const Json& moved, int64_t from, int64_t to) {
  const auto& tables = attached_tables();
  for (const auto& [table, keys] : moved.items()) {
    auto t = std::find_if(tables.begin(), tables.end(), [&](const AttachedTable& x) { return x.table == table; });
    if (t == tables.end()) return Error::internal(fmt::format("merge moved rows of unknown table {}", table));
    std::string sql =
        fmt::format("UPDATE {} SET customer_id = $1 WHERE customer_id = $2{}", t->table, key_where(*t, 3));
    for (const auto& key : keys) {
      std::vector<Value> p = {to, from};
      for (const auto& k : key) p.push_back(json_value(k));
      FIDELIS_RETURN_IF_ERROR(tx.exec(sql, p));
    }
  }
  return ok();
}

// ---- merge and unmerge ----

Result<int> source_rank(storage::Tx& tx, int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("SELECT (SELECT MAX(s.priority) FROM sources s WHERE s.name IN "
             "(SELECT source FROM customer_provenance WHERE customer_id = $1 "
             "UNION SELECT source FROM customer_external_ids WHERE customer_id = $1)), "
             "(SELECT 1 FROM customer_provenance b JOIN customers c ON c.id = b.customer_id "
             "WHERE b.customer_id = $1 AND b.at = c.created_at LIMIT 1)",
             p));
  if (!row || row->is_null(1) || row->is_null(0)) return kTypedByPeopleRank;
  return static_cast<int>(row->i64(0));
}

namespace {

std::string actor_name(const audit::Actor& a) { return a.name.empty() ? a.type : a.type + ":" + a.name; }

Json choices_json(const std::vector<FieldChoice>& choices) {
  Json out = Json::array();
  for (const auto& c : choices)
    out.push_back({{"field", c.field}, {"from", c.from_loser ? "loser" : "winner"}, {"rule", c.rule}});
  return out;
}

}  // namespace

Result<std::string> why_gone(storage::Tx& tx, int64_t id) {
  int64_t at = id;
  for (int hop = 0; hop < 16; ++hop) {
    Value p[] = {at};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT deleted_at, merged_into FROM customers WHERE id = $1", p));
    if (!row) return fmt::format("no customer {}", id);
    if (row->is_null(0)) return fmt::format("customer {} was merged into customer {}", id, at);
    if (row->is_null(1))
      return at == id ? fmt::format("customer {} was deleted", id)
                      : fmt::format("customer {} was merged into customer {}, since deleted", id, at);
    at = row->i64(1);
  }
  return fmt::format("customer {} was merged into customer {}", id, at);
}

Result<MergeRecord> merge_in(storage::Tx& tx, const MergeRequest& req, const Rules& rules, const audit::Actor& actor,
                             Millis now) {
  if (req.a == req.b) return Error::invalid_argument("b", "a customer cannot be merged with itself");
  int64_t winner = req.winner.value_or(std::min(req.a, req.b));
  if (winner != req.a && winner != req.b) return Error::invalid_argument("winner_id", "must be one of the two customers");
  int64_t loser = winner == req.a ? req.b : req.a;
  // Two merges touching the same customers run one after the other.
  FIDELIS_RETURN_IF_ERROR(tx.lock_key(fmt::format("customer_merge:{}", std::min(winner, loser))));
  FIDELIS_RETURN_IF_ERROR(tx.lock_key(fmt::format("customer_merge:{}", std::max(winner, loser))));
  int64_t ids[] = {winner, loser};
  FIDELIS_ASSIGN_OR_RETURN(std::vector<customers::Customer> both, customers::load_customers_for_export(tx, ids));
  auto live = [&](int64_t id) {
    return std::find_if(both.begin(), both.end(), [&](const auto& c) { return c.id == id && !c.deleted_at; });
  };
  // A side that is not live: merged into another customer since, deleted, or never there.
  for (auto [id, field] : {std::pair{req.a, "a"}, std::pair{req.b, "b"}})
    if (live(id) == both.end()) {
      FIDELIS_ASSIGN_OR_RETURN(std::string why, why_gone(tx, id));
      return Error::not_found(field, why);
    }
  const customers::Customer& w = *live(winner);
  const customers::Customer& l = *live(loser);

  FIDELIS_ASSIGN_OR_RETURN(Json before, dump_profile(tx, winner));
  FIDELIS_ASSIGN_OR_RETURN(int wp, source_rank(tx, winner));
  FIDELIS_ASSIGN_OR_RETURN(int lp, source_rank(tx, loser));
  std::set<std::string> import_sources;
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows sources, tx.query("SELECT name FROM sources"));
  for (const auto& r : sources.rows) import_sources.insert(r.str(0));
  customers::Customer dated = l;
  if (req.loser_as_of) dated.updated_at = *req.loser_as_of;
  Survived s = survive({&w, wp}, {&dated, lp}, rules, import_sources);

  // The loser leaves the live base first, so its e-mails are free for the winner.
  Value del[] = {loser, now, winner};
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "UPDATE customers SET deleted_at = $2, merged_into = $3, updated_at = $2, version = version + 1 WHERE id = $1", del));
  FIDELIS_ASSIGN_OR_RETURN(Json moved, move_attached(tx, loser, winner));
  // Read without a row lock: a change to the winner committed since then makes this a Conflict
  // (retry), never a silent overwrite.
  FIDELIS_ASSIGN_OR_RETURN(customers::Customer merged, customers::replace_in(tx, winner, s.input, now, w.version));
  if (auto r = customers::reindex_in(tx, loser, now); !r) return r.error();
  FIDELIS_ASSIGN_OR_RETURN(Json after, dump_profile(tx, winner));

  MergeRecord m;
  m.winner_id = winner;
  m.loser_id = loser;
  m.score = req.score;
  m.reason = req.reason;
  m.origin = req.origin;
  m.actor = actor_name(actor);
  m.choices = std::move(s.choices);
  for (const auto& [table, keys] : moved.items()) m.moved.emplace_back(table, static_cast<int64_t>(keys.size()));
  m.at = now;
  // Bytes that are not UTF-8, should a base hold any from before they were refused, are written as
  // U+FFFD rather than failing the merge.
  auto dump = [](const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); };
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> mark, tx.one("SELECT COALESCE(MAX(id), 0) FROM consent_events"));
  Value ins[] = {winner, loser, req.score ? Value(*req.score) : storage::null(), req.reason, req.origin, dump(before),
                 dump(after), dump(choices_json(m.choices)), dump(moved), now, m.actor, mark->i64(0)};
  FIDELIS_ASSIGN_OR_RETURN(
      m.id, tx.insert_id("INSERT INTO customer_merges (winner_id, loser_id, score, reason, origin, winner_before, "
                         "winner_after, survivorship, moved, at, actor, consent_mark) VALUES ($1, $2, $3, $4, $5, $6, "
                         "$7, $8, $9, $10, $11, $12)",
                         ins));
  // Pairs waiting for review with the loser are now about a record that no longer stands alone.
  Value ob[] = {loser};
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "UPDATE merge_reviews SET status = 'obsolete' WHERE status = 'pending' AND (customer_a = $1 OR customer_b = $1)", ob));
  std::string payload = fmt::format(R"({{"merge_id":{},"winner_id":{},"loser_id":{},"reason":"{}"}})", m.id, winner,
                                    loser, m.reason);
  FIDELIS_RETURN_IF_ERROR(audit::record(
      tx, actor, {"customer.merge", "customer", std::to_string(winner), std::nullopt, payload}, now));
  FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"customer.merged", winner, std::to_string(winner), payload}, now));
  (void)merged;
  return m;
}

Result<MergeRecord> unmerge_in(storage::Tx& tx, int64_t merge_id, const audit::Actor& actor, Millis now) {
  FIDELIS_ASSIGN_OR_RETURN(MergeRecord m, load_merge(tx, merge_id));
  if (m.undone_at) return Error::conflict(fmt::format("merge {} was already undone", merge_id));
  FIDELIS_RETURN_IF_ERROR(tx.lock_key(fmt::format("customer_merge:{}", std::min(m.winner_id, m.loser_id))));
  FIDELIS_RETURN_IF_ERROR(tx.lock_key(fmt::format("customer_merge:{}", std::max(m.winner_id, m.loser_id))));
  Value pw[] = {m.winner_id, m.loser_id};
  // The mailboxes of every address either record may end with, locked as creates and e-mail changes
  // lock them, before anything is written (so no create takes one meanwhile, and no update holding
  // a customer's row waits for a mailbox this holds while this waits for that row).
  {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows keys,
                             tx.query("SELECT email_key FROM customer_emails WHERE customer_id = $1 OR customer_id = $2", pw));
    std::vector<std::string> addresses;
    for (const auto& k : keys.rows) addresses.push_back(k.str(0));
    FIDELIS_RETURN_IF_ERROR(customers::lock_mailboxes(tx, addresses));
  }
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows state,
      tx.query("SELECT id, deleted_at, merged_into FROM customers WHERE id = $1 OR id = $2", pw));
  for (const auto& r : state.rows) {
    if (r.i64(0) == m.winner_id && !r.is_null(1)) {
      if (!r.is_null(2))
        return Error::conflict(fmt::format("customer {} was merged into customer {} since: undo that merge first", m.winner_id, r.i64(2)));
      return Error::conflict(fmt::format("customer {} is deleted: restore it first", m.winner_id));
    }
    if (r.i64(0) == m.loser_id && r.opt_i64(2) != m.winner_id)
      return Error::conflict(fmt::format("customer {} is no longer merged into customer {}", m.loser_id,
                                                          m.winner_id));
  }
  Value pr[] = {merge_id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> saved,
                           tx.one("SELECT winner_before, winner_after, moved FROM customer_merges WHERE id = $1", pr));
  Json before = Json::parse(saved->str(0)), after = Json::parse(saved->str(1)), moved = Json::parse(saved->str(2));

  // The loser's rows first: what is left of consent history on the winner is then its own and the merge's.
  FIDELIS_RETURN_IF_ERROR(move_back(tx, moved, m.winner_id, m.loser_id));
  FIDELIS_RETURN_IF_ERROR(restore_profile(tx, m.winner_id, before, after));
  FIDELIS_RETURN_IF_ERROR(customers::rekey_emails(tx, m.winner_id));  // restored rows carry no mailbox key
  FIDELIS_RETURN_IF_ERROR(consents_from_history(tx, m.winner_id));
  // An e-mail both records had stays with the winner: the revived loser gets it flagged instead
  // (their mailboxes were locked first).
  Value pl[] = {m.loser_id};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows shared,
      tx.query("SELECT e.email FROM customer_emails e WHERE e.customer_id = $1 AND e.email_key IN "
               "(SELECT o.email_key FROM customer_emails o JOIN customers c ON c.id = o.customer_id "
               "WHERE c.deleted_at IS NULL AND o.customer_id <> $1)",
               pl));
  for (const auto& r : shared.rows) {
    Value del[] = {m.loser_id, text::to_lower(r.str(0))};
    FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM customer_emails WHERE customer_id = $1 AND email_key = $2", del));
    Value fl[] = {m.loser_id, std::string("email"), r.str(0), std::string("kept by the other customer when a merge was undone"),
                  std::string("unmerge"), now};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO customer_flags (customer_id, field, value, reason, source, at) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (customer_id, field, value) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        fl));
  }
  if (!shared.rows.empty()) {
    // Positions stay dense after removing some.
    Value q[] = {m.loser_id};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows left,
                             tx.query("SELECT position FROM customer_emails WHERE customer_id = $1 ORDER BY position", q));
    for (size_t i = 0; i < left.rows.size(); ++i) {
      Value up[] = {m.loser_id, left.rows[i].i64(0), static_cast<int64_t>(i)};
      FIDELIS_RETURN_IF_ERROR(
          tx.exec("UPDATE customer_emails SET position = $3 WHERE customer_id = $1 AND position = $2", up));
    }
  }
  Value revive[] = {m.loser_id, now};
  FIDELIS_RETURN_IF_ERROR(
      tx.exec("UPDATE customers SET deleted_at = NULL, merged_into = NULL, updated_at = $2 WHERE id = $1", revive));
  if (auto r = customers::reindex_in(tx, m.winner_id, now); !r) return r.error();
  if (auto r = customers::reindex_in(tx, m.loser_id, now); !r) return r.error();

  std::string who = actor_name(actor);
  Value done[] = {merge_id, now, who};
  FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customer_merges SET undone_at = $2, undone_by = $3 WHERE id = $1", done));
  // Undoing says "these are two people": the pair is never proposed or merged again.
  int64_t a = std::min(m.winner_id, m.loser_id), b = std::max(m.winner_id, m.loser_id);
  Value rej[] = {a, b, m.score.value_or(0.0), std::string("[]"), std::string("unmerge"), now, who};
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "INSERT INTO merge_reviews (customer_a, customer_b, score, comparison, origin, status, created_at, decided_at, "
      "decided_by) VALUES ($1, $2, $3, $4, $5, 'rejected', $6, $6, $7) ON CONFLICT (customer_a, customer_b) DO UPDATE "
      "SET status = 'rejected', decided_at = excluded.decided_at, decided_by = excluded.decided_by",
      rej));
  std::string payload = fmt::format(R"({{"merge_id":{},"winner_id":{},"loser_id":{}}})", merge_id, m.winner_id, m.loser_id);
  FIDELIS_RETURN_IF_ERROR(audit::record(
      tx, actor, {"customer.unmerge", "customer", std::to_string(m.winner_id), std::nullopt, payload}, now));
  FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"customer.unmerged", m.winner_id, std::to_string(m.winner_id), payload}, now));
  // The loser lives again: its own event, so whoever follows customers' changes sees it back.
  FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"customer.restored", m.loser_id, std::to_string(m.loser_id), payload}, now));
  m.undone_at = now;
  m.undone_by = who;
  return m;
}

Result<MergeRecord> load_merge(storage::Tx& tx, int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(std::string(kMergeSelect) + " WHERE id = $1", p));
  if (rows.rows.empty()) return Error::not_found("id", fmt::format("no merge {}", id));
  return merge_from_row(rows.rows[0]);
}

MergeRecord merge_from_row(const storage::Row& r) {
  MergeRecord m;
  m.id = r.i64(0);
  m.winner_id = r.i64(1);
  m.loser_id = r.i64(2);
  if (!r.is_null(3)) m.score = r.f64(3);
  m.reason = r.str(4);
  m.origin = r.str(5);
  for (const auto& c : Json::parse(r.str(6), nullptr, false))
    if (c.is_object())
      m.choices.push_back({c.value("field", ""), c.value("from", "") == "loser", c.value("rule", "")});
  Json moved = Json::parse(r.str(7), nullptr, false);
  if (moved.is_object())
    for (const auto& [table, keys] : moved.items()) m.moved.emplace_back(table, static_cast<int64_t>(keys.size()));
  m.at = r.i64(8);
  m.actor = r.str(9);
  if (!r.is_null(10)) m.undone_at = r.i64(10);
  m.undone_by = r.opt_str(11);
  return m;
}

}  // namespace fidelis::merging
