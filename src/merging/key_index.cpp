// The blocking keys of find_candidates() in memory: an open-addressing table of (key hash,
// customer id) pairs, for bulk imports that set the database's secondary indexes aside.

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "core/text.h"
#include "merging/merging_internal.h"

namespace fidelis::merging {

using storage::Value;

namespace {

// One block's key: its kind and up to two parts, hashed. The unit separator keeps ("ab", "c") and
// ("a", "bc") apart.
uint64_t key_hash(char kind, std::string_view a, std::string_view b = {}) {
  char local[256];
  std::string heap;
  size_t n = a.size() + b.size() + 2;
  char* buf = local;
  if (n > sizeof local) {
    heap.resize(n);
    buf = heap.data();
  }
  buf[0] = kind;
  std::memcpy(buf + 1, a.data(), a.size());
  buf[1 + a.size()] = '\x1f';
  std::memcpy(buf + 2 + a.size(), b.data(), b.size());
  uint64_t h = std::hash<std::string_view>{}(std::string_view(buf, n));
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

// name_key2 ("first last") sliced at each space: "jean pierre dupont" -> "jean ", "jean pierre ".
// The same-first-name block asks for exactly these prefixes.
template <typename F>
void word_prefixes(std::string_view name_key2, F&& f) {
  for (size_t i = name_key2.find(' '); i != std::string_view::npos; i = name_key2.find(' ', i + 1))
    f(name_key2.substr(0, i + 1));
}

}  // namespace

void KeyIndex::insert(uint64_t hash, int64_t id) {
  if ((used_ + 1) * 10 >= slots_.size() * 7) grow();
  size_t mask = slots_.size() - 1, same = 0;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.hash == 0) {
      s = {hash, id};
      ++used_;
      return;
    }
    if (s.hash == hash) {
      if (s.id == id) return;  // already there
      // A key held by kBlockCap customers already (a shared landline, a placeholder number): a
      // look-up never returns more, and a longer run would make every insert walk it.
      if (++same >= kBlockCap) return;
    }
  }
}

void KeyIndex::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? size_t{1} << 16 : old.size() * 2, Slot{});
  used_ = 0;
  for (const Slot& s : old)
    if (s.hash != 0) insert(s.hash, s.id);
}

void KeyIndex::lookup(uint64_t hash, std::vector<int64_t>& out) const {
  if (slots_.empty()) return;
  size_t mask = slots_.size() - 1, found = 0;
  for (size_t i = hash & mask; slots_[i].hash != 0 && found < kBlockCap; i = (i + 1) & mask)
    if (slots_[i].hash == hash) {
      out.push_back(slots_[i].id);
      ++found;
    }
}

void KeyIndex::person_keys(std::string_view name_key, std::string_view name_key2, std::string_view postcode,
                           std::string_view birth_date, std::vector<uint64_t>& out) {
  if (!name_key.empty() && !postcode.empty()) out.push_back(key_hash('N', name_key, postcode));
  if (!birth_date.empty() && !name_key2.empty()) {
    out.push_back(key_hash('B', birth_date, name_key2));
    word_prefixes(name_key2, [&](std::string_view p) { out.push_back(key_hash('F', birth_date, p)); });
  }
}

std::vector<uint64_t> KeyIndex::stored_keys(const customers::CustomerInput& in) {
  std::vector<uint64_t> out;
  customers::NameKeys k = customers::name_keys(in.first_name, in.last_name);
  std::string postcode = in.address ? in.address->postcode.value_or("") : "";
  person_keys(k.last_first, k.first_last, postcode, in.birth_date.value_or(""), out);
  if (in.emails)
    for (const auto& e : *in.emails)
      if (!e.email.empty()) out.push_back(key_hash('E', text::to_lower(e.email)));
  if (in.phones)
    for (const auto& p : *in.phones)
      if (std::string key = customers::phone_key(p); !key.empty()) out.push_back(key_hash('P', key));
  return out;
}

std::vector<uint64_t> KeyIndex::query_keys(const dedup::Record& r) {
  // The same blocks, from the same parts of the record, as candidates_sql() in candidates.cpp.
  std::string last = text::search_key(r.last_name), first = text::search_key(r.first_name);
  std::string phone = r.phone_e164.starts_with('+') ? r.phone_e164.substr(1) : r.phone_e164;
  std::vector<uint64_t> out;
  std::string email = text::to_lower(text::trim(r.email));
  if (!email.empty()) out.push_back(key_hash('E', email));
  if (!phone.empty()) out.push_back(key_hash('P', phone));
  if (!last.empty() || !first.empty()) {
    std::string last_first = text::search_key(r.last_name + " " + r.first_name);
    std::string first_last = text::search_key(r.first_name + " " + r.last_name);
    if (!r.postcode.empty()) {
      out.push_back(key_hash('N', last_first, r.postcode));
      if (first_last != last_first) out.push_back(key_hash('N', first_last, r.postcode));
    }
    if (!r.birth_date.empty()) {
      out.push_back(key_hash('B', r.birth_date, last_first));
      if (!first.empty() && !last.empty()) out.push_back(key_hash('F', r.birth_date, first + " "));
    }
  }
  return out;
}

void KeyIndex::add(int64_t id, std::span<const uint64_t> keys) {
  for (uint64_t h : keys) insert(h, id);
}

void KeyIndex::add(int64_t id, const customers::CustomerInput& in) { add(id, stored_keys(in)); }

std::vector<int64_t> KeyIndex::candidates(std::span<const uint64_t> keys) const {
  // In the order of the keys (e-mail and phone first), so that crowded name blocks cannot push an
  // e-mail or phone match past the cap.
  std::vector<int64_t> found, out;
  for (uint64_t h : keys) lookup(h, found);
  out.reserve(std::min(found.size(), static_cast<size_t>(kMaxCandidates)));
  for (int64_t id : found) {
    if (out.size() == static_cast<size_t>(kMaxCandidates)) break;
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

std::vector<int64_t> KeyIndex::candidates(const dedup::Record& r) const { return candidates(query_keys(r)); }

void KeyIndex::add_email(int64_t id, std::string_view email_key) {
  if (!email_key.empty()) insert(key_hash('E', email_key), id);
}

void KeyIndex::add_phone(int64_t id, std::string_view phone_key) {
  if (!phone_key.empty()) insert(key_hash('P', phone_key), id);
}

std::vector<int64_t> KeyIndex::email_holders(std::string_view email) const {
  std::vector<int64_t> out;
  lookup(key_hash('E', text::to_lower(email)), out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status KeyIndex::add_stored(storage::Tx& tx, std::span<const int64_t> ids) {
  if (ids.empty()) return ok();
  std::string in_list;
  std::vector<Value> p;
  for (size_t i = 0; i < ids.size(); ++i) {
    in_list += fmt::format("{}${}", i ? ", " : "", i + 1);
    p.emplace_back(ids[i]);
  }
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows people,
      tx.query(fmt::format("SELECT id, name_key, name_key2, postcode, birth_date FROM customers WHERE deleted_at IS NULL "
                           "AND id IN ({})",
                           in_list),
               p));
  std::vector<uint64_t> keys;
  for (const auto& r : people.rows) {
    keys.clear();
    person_keys(r.str(1), r.str(2), r.str(3), r.str(4), keys);
    add(r.i64(0), keys);
  }
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows emails,
      tx.query(fmt::format("SELECT customer_id, email_key FROM customer_emails WHERE customer_id IN ({})", in_list), p));
  for (const auto& r : emails.rows) add_email(r.i64(0), r.str(1));
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows phones,
      tx.query(fmt::format("SELECT customer_id, phone_key FROM customer_phones WHERE customer_id IN ({})", in_list), p));
  for (const auto& r : phones.rows) add_phone(r.i64(0), r.str(1));
  return ok();
}

Result<KeyIndex> KeyIndex::load(storage::Db& db) {
  KeyIndex index;
  // A page of live customers at a time, then the e-mails and phones of that id range: every
  // statement walks a primary key, so no secondary index is needed.
  FIDELIS_RETURN_IF_ERROR(db.read([&](storage::Tx& tx) -> Status {
    int64_t after = 0;
    while (true) {
      Value p[] = {after, int64_t{50'000}};
      FIDELIS_ASSIGN_OR_RETURN(storage::Rows people,
                               tx.query("SELECT id, name_key, name_key2, postcode, birth_date FROM customers WHERE "
                                        "deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2",
                                        p));
      if (people.rows.empty()) break;
      std::vector<uint64_t> keys;
      for (const auto& r : people.rows) {
        keys.clear();
        person_keys(r.str(1), r.str(2), r.str(3), r.str(4), keys);
        index.add(r.i64(0), keys);
      }
      int64_t last = people.rows.back().i64(0);
      Value range[] = {after, last};
      FIDELIS_ASSIGN_OR_RETURN(storage::Rows emails,
                               tx.query("SELECT e.customer_id, e.email_key FROM customer_emails e JOIN customers c ON "
                                        "c.id = e.customer_id WHERE e.customer_id > $1 AND e.customer_id <= $2 AND "
                                        "c.deleted_at IS NULL",
                                        range));
      for (const auto& r : emails.rows) index.add_email(r.i64(0), r.str(1));
      FIDELIS_ASSIGN_OR_RETURN(storage::Rows phones,
                               tx.query("SELECT p.customer_id, p.phone_key FROM customer_phones p JOIN customers c ON "
                                        "c.id = p.customer_id WHERE p.customer_id > $1 AND p.customer_id <= $2 AND "
                                        "c.deleted_at IS NULL",
                                        range));
      for (const auto& r : phones.rows) index.add_phone(r.i64(0), r.str(1));
      after = last;
    }
    return ok();
  }));
  return index;
}

}  // namespace fidelis::merging
