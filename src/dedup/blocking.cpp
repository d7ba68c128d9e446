// Blocking keys: the cheap first pass that decides which pairs are compared at all. Each kind
// catches duplicates the others miss: a new e-mail, a moved address, a typo in the surname.
#include <algorithm>
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

}  // namespace

std::string block_key(const PreparedRecord& r, KeyKind kind) {
  using P = PreparedRecord::Part;
  std::string key(key_prefix(kind));
  switch (kind) {
    case KeyKind::kEmail:
      if (r.part(P::kEmail).empty()) return {};
      return key.append(r.part(P::kEmail));
    case KeyKind::kPhone:
      if (r.part(P::kPhone).empty()) return {};
      return key.append(r.part(P::kPhone));
    case KeyKind::kNamePostcode: {
      std::string last = phonex(r.part(P::kLast));
      if (last.empty() || r.part(P::kPostcode).empty()) return {};
      return key.append(last).append("|").append(r.part(P::kPostcode));
    }
    case KeyKind::kNameBirth: {
      if (r.part(P::kLast).empty() || r.part(P::kFirst).empty() || !r.birth()) return {};
      const Date& d = *r.birth();
      return key.append(ordered_pair(std::string(r.part(P::kLast)), std::string(r.part(P::kFirst))))
          .append("|")
          .append(std::to_string(d.year))
          .append("-")
          .append(two_digits(d.month))
          .append("-")
          .append(two_digits(d.day));
    }
    case KeyKind::kPhoneticYear: {
      std::string first = phonex(r.part(P::kFirst)), last = phonex(r.part(P::kLast));
      if (first.empty() || last.empty() || !r.birth()) return {};
      return key.append(ordered_pair(std::move(first), std::move(last))).append("|").append(std::to_string(r.birth()->year));
    }
  }
  return {};
}

}  // namespace internal

std::vector<BlockingKey> blocking_keys(const Record& r) {
  PreparedRecord p(r);
  std::vector<BlockingKey> out;
  for (size_t k = 0; k < kKeyKindCount; ++k) {
    auto kind = static_cast<KeyKind>(k);
    if (std::string key = internal::block_key(p, kind); !key.empty()) out.push_back({kind, std::move(key)});
  }
  return out;
}

}  // namespace fidelis::dedup
