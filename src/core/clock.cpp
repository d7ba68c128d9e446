#include "core/clock.h"

#include <fmt/format.h>

#include <chrono>
#include <charconv>
#include <ctime>

namespace fidelis {

Millis SystemClock::now() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// Days from civil date (proleptic Gregorian), H. Hinnant's algorithm.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

bool read_int(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return true;
}

}  // namespace

std::string format_iso8601(Millis ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - secs * 1000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

Result<Date> parse_date(std::string_view s, std::string_view field) {
  Date d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !read_int(s, 0, 4, d.year) ||
      !read_int(s, 5, 2, d.month) || !read_int(s, 8, 2, d.day))
    return Error::invalid_argument(std::string(field), "expected a date as YYYY-MM-DD");
  if (d.year < 1900 || d.year > 2100 || d.month < 1 || d.month > 12 || d.day < 1 ||
      d.day > days_in_month(d.year, d.month))
    return Error::invalid_argument(std::string(field), "no such calendar date");
  return d;
}

std::string Date::to_string() const { return fmt::format("{:04}-{:02}-{:02}", year, month, day); }

Result<Millis> parse_iso8601(std::string_view s, std::string_view field) {
  auto bad = [&] {
    return Error::invalid_argument(std::string(field),
                                   "expected an ISO 8601 time such as 2026-01-31T09:30:00Z");
  };
  auto date = parse_date(s.substr(0, 10), field);
  if (!date) return bad();
  int64_t days = days_from_civil(date->year, static_cast<unsigned>(date->month),
                                 static_cast<unsigned>(date->day));
  if (s.size() == 10) return days * 86'400'000;
  int hh = 0, mi = 0, ss = 0, frac = 0;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
      !read_int(s, 11, 2, hh) || !read_int(s, 14, 2, mi) || !read_int(s, 17, 2, ss) || hh > 23 ||
      mi > 59 || ss > 60)
    return bad();
  size_t pos = 19;
  if (s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return bad();
    std::string digits(s.substr(start, std::min<size_t>(3, pos - start)));
    digits.resize(3, '0');
    frac = std::stoi(digits);
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!read_int(s, pos + 1, 2, oh) || pos + 6 > s.size() || s[pos + 3] != ':' ||
        !read_int(s, pos + 4, 2, om))
      return bad();
    offset_min = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  return ((days * 86400 + hh * 3600 + mi * 60 + ss) - offset_min * 60) * 1000 + frac;
}

}  // namespace fidelis
