#pragma once
// Internal to the merging module: the merge store's pieces shared by the service and the runs.

#include <nlohmann/json.hpp>

#include "merging/merging.h"

namespace fidelis::merging {

// A customer (table alias c) as a dedup record: these columns, read back by record_from_row.
inline constexpr std::string_view kRecordColumns =
    "c.id, c.first_name, c.last_name, c.birth_date, c.street, c.postcode, c.city, "
    "(SELECT e.email FROM customer_emails e WHERE e.customer_id = c.id ORDER BY e.position LIMIT 1), "
    "(SELECT ph.e164 FROM customer_phones ph WHERE ph.customer_id = c.id AND ph.e164 IS NOT NULL "
    "AND ph.phone_key NOT LIKE '%x%' ORDER BY ph.position LIMIT 1)";  // no switchboard (records.cpp)
inline constexpr size_t kRecordColumnCount = 9;

// What the insert-time blocks look up for a record (candidates_sql() and KeyIndex::query_keys);
// an empty part takes no block.
struct BlockParts {
  std::string email;       // its mailbox_key (core/email.h), else `address`
  std::string address;     // the e-mail as written, lower-cased and trimmed (its email_key)
  std::string phone;       // E.164 digits without '+'
  std::string last_first;  // search_key("last first"); empty without a name
  std::string first_last;  // search_key("first last"); empty when the same as last_first
  std::string first_prefix;  // "first " when both names are set: the same first name, another surname
  std::string postcode, birth_date;
};
BlockParts block_parts(const dedup::Record& r);
dedup::Record record_from_row(const storage::Row& r);

nlohmann::json value_json(const storage::Value& v);
storage::Value json_value(const nlohmann::json& j);

// A customer's profile rows (the customers row's own fields and every list table) as JSON.
Result<nlohmann::json> dump_profile(storage::Tx& tx, int64_t id);
// Gives customer `id` back the rows of `before` that the merge (which left `after`) brought or
// changed, unless they changed again since; consents aside (the unmerge recomputes them from the
// consent history the winner keeps).
Status restore_profile(storage::Tx& tx, int64_t id, const nlohmann::json& before, const nlohmann::json& after);
// Moves the attached rows of customer `from` to `to`; returns the keys moved per table.
Result<nlohmann::json> move_attached(storage::Tx& tx, int64_t from, int64_t to);
Status move_back(storage::Tx& tx, const nlohmann::json& moved, int64_t from, int64_t to);

inline constexpr std::string_view kMergeSelect =
    "SELECT id, winner_id, loser_id, score, reason, origin, survivorship, moved, at, actor, undone_at, undone_by "
    "FROM customer_merges";
MergeRecord merge_from_row(const storage::Row& r);
Result<MergeRecord> load_merge(storage::Tx& tx, int64_t id);
// Why customer `id` is not live, for a person: "no customer 7", "customer 7 was deleted",
// "customer 7 was merged into customer 9" (followed through later merges), "... into customer 9,
// since deleted".
Result<std::string> why_gone(storage::Tx& tx, int64_t id);

}  // namespace fidelis::merging
