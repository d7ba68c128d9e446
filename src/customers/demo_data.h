#pragma once
// Static French reference data for `fidelis demo`. Thread-safe to read.

#include <span>
#include <string_view>

namespace fidelis::customers::demo {

struct Place {
  std::string_view postcode;
  std::string_view city;
};
struct FirstName {
  std::string_view name;
  char sex;  // 'F' or 'M'
};

std::span<const FirstName> first_names();
std::span<const std::string_view> last_names();
std::span<const Place> places();  // real postcode / commune pairs
std::span<const std::string_view> street_types();
std::span<const std::string_view> street_names();
std::span<const std::string_view> email_domains();  // repeated entries weight the draw
std::span<const std::string_view> categories();
std::span<const std::string_view> tags();

}  // namespace fidelis::customers::demo
