// String comparators on code points: Jaro, Jaro-Winkler, Levenshtein, Damerau (OSA).
#include <algorithm>
#include <vector>

#include "core/text.h"
#include "dedup/dedup.h"
#include "dedup/dedup_internal.h"

namespace fidelis::dedup {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Decodes one code point at `i`, advancing `i`; an invalid or truncated sequence yields U+FFFD and
// consumes one byte, so garbage never stops the comparison.
char32_t decode_one(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    ++i;
    return kReplacement;
  }
  char32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 0x2) {
      ++i;
      return kReplacement;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += n;
  return cp;
}

// Flags for matched characters: on the stack for short strings, on the heap beyond.
class Flags {
 public:
  explicit Flags(size_t n) {
    if (n > small_.size()) big_.assign(n, 0);
    data_ = n > small_.size() ? big_.data() : small_.data();
    std::fill(data_, data_ + std::min(n, small_.size()), 0);
  }
  unsigned char& operator[](size_t i) { return data_[i]; }

 private:
  std::array<unsigned char, 128> small_;
  std::vector<unsigned char> big_;
  unsigned char* data_;
};

// The comparators are templates so that the common case, two ASCII search keys, runs on the bytes
// without decoding; other text is decoded to code points first.
template <typename C>
double jaro_impl(std::basic_string_view<C> a, std::basic_string_view<C> b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  // Characters match when equal and no farther apart than half the longer length, minus one.
  size_t window = std::max(a.size(), b.size()) / 2;
  window = window > 0 ? window - 1 : 0;
  Flags ma(a.size()), mb(b.size());
  size_t matches = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = std::min(b.size(), i + window + 1);
    for (size_t j = lo; j < hi; ++j) {
      if (mb[j] || a[i] != b[j]) continue;
      ma[i] = mb[j] = 1;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  // Transpositions: matched characters that are out of order, counted in halves.
  size_t half_transpositions = 0;
  for (size_t i = 0, j = 0; i < a.size(); ++i) {
    if (!ma[i]) continue;
    while (!mb[j]) ++j;
    if (a[i] != b[j]) ++half_transpositions;
    ++j;
  }
  double m = static_cast<double>(matches);
  double t = static_cast<double>(half_transpositions) / 2.0;
  return (m / static_cast<double>(a.size()) + m / static_cast<double>(b.size()) + (m - t) / m) / 3.0;
}

template <typename C>
double jaro_winkler_impl(std::basic_string_view<C> a, std::basic_string_view<C> b) {
  double j = jaro_impl(a, b);
  // Winkler's boost for a common prefix: typing errors are rarer at the start of a name.
  if (j <= 0.7) return j;
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  return j + static_cast<double>(prefix) * 0.1 * (1.0 - j);
}

template <typename C>
size_t damerau_impl(std::basic_string_view<C> a, std::basic_string_view<C> b) {
  // Three rows, as the transposition looks two rows back; on the stack for usual lengths.
  const size_t w = b.size() + 1;
  std::array<size_t, 3 * 96> small;
  std::vector<size_t> big;
  size_t* base = small.data();
  if (3 * w > small.size()) {
    big.resize(3 * w);
    base = big.data();
  }
  size_t* prev2 = base;
  size_t* prev = prev2 + w;
  size_t* cur = prev + w;
  for (size_t j = 0; j < w; ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j < w; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) best = std::min(best, prev2[j - 2] + 1);
      cur[j] = best;
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

namespace internal {

CodePoints::CodePoints(std::string_view utf8) {
  size_t i = 0;
  while (i < utf8.size()) {
    char32_t cp = decode_one(utf8, i);
    if (heap_.empty() && size_ < kInline) {
      inline_[size_++] = cp;
      continue;
    }
    if (heap_.empty()) heap_.assign(inline_.data(), size_);
    heap_.push_back(cp);
  }
}

double jaro_winkler_keys(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  if (is_ascii(a) && is_ascii(b)) return jaro_winkler_impl(a, b);
  CodePoints ca(a), cb(b);
  return jaro_winkler_impl(ca.view(), cb.view());
}

double edit_similarity_keys(std::string_view a, std::string_view b) {
  if (a == b) return 1.0;
  if (is_ascii(a) && is_ascii(b))
    return 1.0 - static_cast<double>(damerau_impl(a, b)) / static_cast<double>(std::max(a.size(), b.size()));
  CodePoints ca(a), cb(b);
  size_t longest = std::max(ca.view().size(), cb.view().size());
  return 1.0 - static_cast<double>(damerau_impl(ca.view(), cb.view())) / static_cast<double>(longest);
}

}  // namespace internal

std::u32string to_code_points(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) out.push_back(decode_one(utf8, i));
  return out;
}

double jaro(std::u32string_view a, std::u32string_view b) { return jaro_impl(a, b); }

double jaro_winkler(std::u32string_view a, std::u32string_view b) { return jaro_winkler_impl(a, b); }

double jaro_winkler(std::string_view a, std::string_view b) {
  return internal::jaro_winkler_keys(text::search_key(a), text::search_key(b));
}

size_t levenshtein(std::u32string_view a, std::u32string_view b) {
  if (a.size() < b.size()) std::swap(a, b);  // the shorter one indexes the row
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

size_t damerau_levenshtein(std::u32string_view a, std::u32string_view b) { return damerau_impl(a, b); }

double edit_similarity(std::string_view a, std::string_view b) {
  return internal::edit_similarity_keys(text::search_key(a), text::search_key(b));
}

bool exact_match(std::string_view a, std::string_view b) {
  std::string ka = text::search_key(a);
  return !ka.empty() && ka == text::search_key(b);
}

}  // namespace fidelis::dedup
