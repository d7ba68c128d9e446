// Reading the base into dedup records, and the audit CSV of pairs.

#include <fmt/format.h>

#include "dedup/dedup.h"
#include "imports/imports.h"
#include "storage/db.h"

namespace fidelis::dedup {

Result<std::vector<Record>> load_records(storage::Db& db) {
  std::vector<Record> out;
  int64_t after = 0;
  while (true) {
    storage::Value p[] = {after, int64_t{20'000}};
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        db.query("SELECT c.id, c.first_name, c.last_name, c.birth_date, c.street, c.postcode, c.city, "
                 "(SELECT e.email FROM customer_emails e WHERE e.customer_id = c.id ORDER BY e.position LIMIT 1), "
                 "(SELECT ph.e164 FROM customer_phones ph WHERE ph.customer_id = c.id ORDER BY ph.position LIMIT 1), "
                 "(SELECT x.source FROM customer_external_ids x WHERE x.customer_id = c.id ORDER BY x.source, x.external_id LIMIT 1), "
                 "(SELECT x.external_id FROM customer_external_ids x WHERE x.customer_id = c.id ORDER BY x.source, x.external_id LIMIT 1) "
                 "FROM customers c WHERE c.deleted_at IS NULL AND c.id > $1 ORDER BY c.id LIMIT $2",
                 p));
    if (rows.rows.empty()) break;
    for (const auto& r : rows.rows) {
      Record rec;
      rec.id = r.i64(0);
      rec.first_name = r.str(1);
      rec.last_name = r.str(2);
      rec.birth_date = r.str(3);
      rec.street = r.str(4);
      rec.postcode = r.str(5);
      rec.city = r.str(6);
      rec.email = r.str(7);
      rec.phone_e164 = r.str(8);
      rec.source = r.str(9);
      rec.external_id = r.str(10);
      out.push_back(std::move(rec));
    }
    after = out.back().id;
  }
  return out;
}

std::string pair_csv_line(const ScoredPair& p, std::span<const Record> records) {
  auto name = [](const Record& r) { return r.external_id.empty() ? fmt::format("id:{}", r.id) : r.external_id; };
  std::string fields[] = {name(records[p.a]), name(records[p.b]), fmt::format("{:.2f}", p.score),
                          std::string(decision_name(p.decision))};
  return imports::csv_line(fields, ',');
}

}  // namespace fidelis::dedup
