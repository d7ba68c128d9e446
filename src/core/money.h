#pragma once
// Money: an amount in minor units (cents) and an ISO 4217 currency. Never a double.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fidelis {

struct Money {
  int64_t minor = 0;
  std::string currency = "EUR";  // three upper-case letters

  // InvalidArgument (field `field`) unless `code` is three ASCII letters; upper-cases it.
  static Result<Money> of(int64_t minor, std::string_view code, std::string_view field = "currency");
  // Adds two amounts of the same currency; InvalidArgument on a currency mismatch, ResourceExhausted
  // on overflow.
  Result<Money> plus(const Money& other) const;
  // "12.34 EUR" (two decimals; JPY-style zero-decimal currencies are not special-cased yet).
  std::string to_string() const;
  bool operator==(const Money&) const = default;
};

}  // namespace fidelis
