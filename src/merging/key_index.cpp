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
    for (const auto& e : *in.emails) {
      if (e.email.empty()) continue;
      const std::string key = text::to_lower(e.email);
      out.push_back(key_hash('E', key));
      if (std::string mailbox = customers::stored_mailbox_key(key); !mailbox.empty()) out.push_back(key_hash('M', mailbox));
    }
  if (in.phones)
    for (const auto& p : *in.phones)
      if (std::string key = customers::phone_key(p); !key.empty()) out.push_back(key_hash('P', key));
  return out;
}

std::vector<uint64_t> KeyIndex::query_keys(const dedup::Record& r) {
  // The same blocks as candidates_sql() in candidates.cpp, from the same parts.
  BlockParts b = block_parts(r);
  std::vector<uint64_t> out;
  if (!b.email.empty()) {
    out.push_back(key_hash('E', b.email));  // the mailbox stored as itself
    out.push_back(key_hash('M', b.email));  // or as a variant of it
    if (b.address != b.email) out.push_back(key_hash('E', b.address));  // this very address
  }
  if (!b.phone.empty()) out.push_back(key_hash('P', b.phone));
  if (!b.last_first.empty() && !b.postcode.empty()) out.push_back(key_hash('N', b.last_first, b.postcode));
  if (!b.first_last.empty() && !b.postcode.empty()) out.push_back(key_hash('N', b.first_last, b.postcode));
  if (!b.birth_date.empty()) {
    if (!b.last_first.empty()) out.push_back(key_hash('B', b.birth_date, b.last_first));
    if (!b.first_prefix.empty()) out.push_back(key_hash('F', b.birth_date, b.first_prefix));
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

void KeyIndex::add_mailbox(int64_t id, std::string_view mailbox_key) {
  if (!mailbox_key.empty()) insert(key_hash('M', mailbox_key), id);
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

// The keys of the live customers whose id meets `which` ("{0}" stands for the id column), read
// from the customer rows, then their e-mails and phones: every statement walks a primary key, so no
// secondary index is needed.
Status KeyIndex::add_where(storage::Tx& tx, std::string_view which, std::span<const Value> p) {
  auto where = [&](std::string_view column) { return fmt::format(fmt::runtime(which), column); };
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows people,
      tx.query(fmt::format("SELECT c.id, c.name_key, c.name_key2, c.postcode, c.birth_date FROM customers c WHERE "
                           "c.deleted_at IS NULL AND {}",
                           where("c.id")),
               p));
  std::vector<uint64_t> keys;
  for (const auto& r : people.rows) {
    keys.clear();
    person_keys(r.str(1), r.str(2), r.str(3), r.str(4), keys);
    add(r.i64(0), keys);
  }
  // E-mails (each address and, for a variant, its mailbox) and phones: one query shape over each
  // list table.
  struct List {
    std::string_view table, keys;
    void (KeyIndex::*add_key)(int64_t, std::string_view);
    void (KeyIndex::*add_second)(int64_t, std::string_view);
  };
  for (const List& l : {List{"customer_emails", "k.email_key, k.mailbox_key", &KeyIndex::add_email, &KeyIndex::add_mailbox},
                         List{"customer_phones", "k.phone_key, NULL", &KeyIndex::add_phone, nullptr}}) {
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.query(fmt::format("SELECT k.customer_id, {} FROM {} k JOIN customers c ON c.id = k.customer_id WHERE "
                             "c.deleted_at IS NULL AND {}",
                             l.keys, l.table, where("k.customer_id")),
                 p));
    for (const auto& r : rows.rows) {
      (this->*l.add_key)(r.i64(0), r.str(1));
      if (l.add_second != nullptr && !r.is_null(2)) (this->*l.add_second)(r.i64(0), r.str(2));
    }
  }
  return ok();
}

Status KeyIndex::add_stored(storage::Tx& tx, std::span<const int64_t> ids) {
  if (ids.empty()) return ok();
  std::vector<Value> p;
  std::string in_list = storage::append_in_list(p, ids);
  return add_where(tx, "{0} IN (" + in_list + ")", p);
}

Result<KeyIndex> KeyIndex::load(storage::Db& db) {
  KeyIndex index;
  // 50 000 customers at a time: the last id of the page, then the keys of that id range.
  FIDELIS_RETURN_IF_ERROR(db.read([&](storage::Tx& tx) -> Status {
    int64_t after = 0;
    while (true) {
      Value page[] = {after, int64_t{50'000}};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> last,
          tx.one("SELECT MAX(id) FROM (SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2) page", page));
      if (!last || last->is_null(0)) break;
      Value range[] = {after, last->i64(0)};
      FIDELIS_RETURN_IF_ERROR(index.add_where(tx, "{0} > $1 AND {0} <= $2", range));
      after = last->i64(0);
    }
    return ok();
  }));
  return index;
}

}  // namespace fidelis::merging
