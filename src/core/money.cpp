#include "core/money.h"

#include <fmt/format.h>

namespace fidelis {

Result<Money> Money::of(int64_t minor, std::string_view code, std::string_view field) {
  if (code.size() != 3)
    return Error::invalid_argument(std::string(field), "expected a three-letter ISO 4217 code");
  std::string up;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
      return Error::invalid_argument(std::string(field), "expected a three-letter ISO 4217 code");
    up += static_cast<char>(c >= 'a' ? c - 32 : c);
  }
  return Money{minor, up};
}

Result<Money> Money::plus(const Money& other) const {
  if (currency != other.currency)
    return Error::invalid_argument("currency", "cannot add " + currency + " and " + other.currency);
  int64_t sum = 0;
  if (__builtin_add_overflow(minor, other.minor, &sum))
    return Error::resource_exhausted("amount", "amount overflows");
  return Money{sum, currency};
}

std::string Money::to_string() const {
  int64_t a = minor < 0 ? -minor : minor;
  return fmt::format("{}{}.{:02} {}", minor < 0 ? "-" : "", a / 100, a % 100, currency);
}

}  // namespace fidelis
