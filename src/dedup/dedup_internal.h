#pragma once
// Helpers shared by the dedup .cpp files; not part of the module's contract.

#include <array>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dedup/dedup.h"

namespace fidelis::dedup::internal {

// UTF-8 decoded into code points without a heap allocation for the short strings that names,
// streets and cities are (the matcher decodes millions of them).
class CodePoints {
 public:
  explicit CodePoints(std::string_view utf8);
  std::u32string_view view() const { return heap_.empty() ? std::u32string_view(inline_.data(), size_) : heap_; }

 private:
  static constexpr size_t kInline = 64;
  std::array<char32_t, kInline> inline_;
  std::u32string heap_;
  size_t size_ = 0;
};

// Field normalisers behind PreparedRecord (normalize.cpp).
std::string normalize_street(std::string_view s);  // search_key + French abbreviations expanded
std::string normalize_city(std::string_view s);    // same ("St-Malo" = "Saint-Malo")
std::string normalize_postcode(std::string_view s);  // spaces and hyphens removed, upper-case
std::string normalize_phone(std::string_view s);   // E.164 checked ("+" and 7..15 digits), else empty
bool is_french_fixed_line(std::string_view e164);

// The blocking keys of a prepared record by KeyKind, each with its prefix; empty where the record
// has none of that kind (blocking.cpp).
std::array<std::string, kKeyKindCount> block_keys(const PreparedRecord& r);

// Comparators on text already passed through text::search_key.
double jaro_winkler_keys(std::string_view a, std::string_view b);
double edit_similarity_keys(std::string_view a, std::string_view b);

// 64-bit FNV-1a followed by a murmur-style finaliser: cheap and well spread for short keys.
inline uint64_t hash64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Runs fn(t) for t in [0, threads) on `threads` threads (the caller's thread being one of them),
// then rethrows on the caller's thread the first exception any of them threw: one leaving a
// worker would end the process.
template <typename Fn>
void parallel(unsigned threads, Fn fn) {
  std::vector<std::exception_ptr> failures(threads);
  {
    std::vector<std::jthread> workers;
    for (unsigned t = 1; t < threads; ++t)
      workers.emplace_back([&fn, &failures, t] {
        try {
          fn(t);
        } catch (...) {
          failures[t] = std::current_exception();
        }
      });
    try {
      fn(0);
    } catch (...) {
      failures[0] = std::current_exception();
    }
  }
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
}

}  // namespace fidelis::dedup::internal
