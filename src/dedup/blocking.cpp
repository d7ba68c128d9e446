// Blocking keys: the cheap first pass that decides which pairs are compared at all. Each kind
// catches duplicates the others miss: a new e-mail, a moved address, a typo in the surname.
#include <algorithm>
#include <array>
#include <string>

#include "dedup/dedup.h"
#include "dedup/dedup_internal.h"

namespace fidelis::dedup {

std::string_view key_prefix(KeyKind k) {
  switch (k) {
    case KeyKind::kEmail: return "e:";
    case KeyKind::kPhone: return "p:";
    case KeyKind::kNamePostcode: return "np:";
    case KeyKind::kNameBirth: return "nb:";
    case KeyKind::kPhoneticYear: return "ff:";
    case KeyKind::kFirstBirth: return "fb:";
    case KeyKind::kAddress: return "ad:";
  }
  return "?:";
}

namespace internal {

namespace {

// The two names in sorted order, so "Martin Thomas" and "Thomas Martin" give one key.
std::string ordered_pair(std::string a, std::string b) {
  if (b < a) std::swap(a, b);
  return a + "|" + b;
}

std::string two_digits(int v) { return {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)}; }

std::string date_text(const Date& d) {
  return std::to_string(d.year) + "-" + two_digits(d.month) + "-" + two_digits(d.day);
}

}  // namespace

std::array<std::string, kKeyKindCount> block_keys(const PreparedRecord& r) {
  using P = PreparedRecord::Part;
  std::array<std::string, kKeyKindCount> keys;
  auto put = [&](KeyKind kind, std::string_view body) {
    std::string& k = keys[static_cast<size_t>(kind)];
    k.reserve(key_prefix(kind).size() + body.size());
    k.append(key_prefix(kind)).append(body);
  };
  std::string_view first = r.part(P::kFirst), last = r.part(P::kLast), postcode = r.part(P::kPostcode);
  std::string first_code = phonex(first), last_code = phonex(last);  // once: phonex is the costly part
  std::string date = r.birth() ? date_text(*r.birth()) : std::string();

  if (!r.part(P::kEmail).empty()) put(KeyKind::kEmail, r.part(P::kEmail));
  if (!r.part(P::kPhone).empty()) put(KeyKind::kPhone, r.part(P::kPhone));
  if (!last_code.empty() && !postcode.empty()) put(KeyKind::kNamePostcode, last_code + "|" + std::string(postcode));
  if (!first.empty() && !last.empty() && r.birth())
    put(KeyKind::kNameBirth, ordered_pair(std::string(last), std::string(first)) + "|" + date);
  if (!first_code.empty() && !last_code.empty() && r.birth())
    put(KeyKind::kPhoneticYear, ordered_pair(first_code, last_code) + "|" + std::to_string(r.birth()->year));
  if (!first.empty() && r.birth()) put(KeyKind::kFirstBirth, std::string(first) + "|" + date);
  if (!postcode.empty() && !r.part(P::kStreet).empty())
    put(KeyKind::kAddress, std::string(postcode) + "|" + std::string(r.part(P::kStreet)));
  return keys;
}

}  // namespace internal

std::vector<BlockingKey> blocking_keys(const Record& r) {
  std::array<std::string, kKeyKindCount> keys = internal::block_keys(PreparedRecord(r));
  std::vector<BlockingKey> out;
  for (size_t k = 0; k < kKeyKindCount; ++k)
    if (!keys[k].empty()) out.push_back({static_cast<KeyKind>(k), std::move(keys[k])});
  return out;
}

}  // namespace fidelis::dedup
