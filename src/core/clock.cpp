#include "core/clock.h"

#include "core/text.h"

#include <fmt/format.h>

#include <chrono>
#include <charconv>
#include <algorithm>
#include <tuple>
#include <cctype>
#include <ctime>
#include <vector>

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

struct Civil {
  int64_t year;
  unsigned month, day;
};

// Civil date from days since 1970-01-01, the inverse of days_from_civil (same source).
Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
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
  // Arithmetic rather than gmtime_r, which takes the time-zone lock on every call: documents of a
  // million customers are rendered with this.
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t in_day = secs - days * 86400;
  Civil c = civil_from_days(days);
  if (c.year < 0 || c.year > 9999)
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, in_day / 3600,
                       in_day / 60 % 60, in_day % 60, ms - secs * 1000);
  char out[] = "0000-00-00T00:00:00.000Z";
  auto put = [&](int at, int64_t v, int width) {
    for (int i = at + width - 1; i >= at; --i, v /= 10) out[i] = static_cast<char>('0' + v % 10);
  };
  put(0, c.year, 4);
  put(5, c.month, 2);
  put(8, c.day, 2);
  put(11, in_day / 3600, 2);
  put(14, in_day / 60 % 60, 2);
  put(17, in_day % 60, 2);
  put(20, ms - secs * 1000, 3);
  return std::string(out, 24);
}

Result<Date> parse_date(std::string_view s, std::string_view field) {
  Date d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !read_int(s, 0, 4, d.year) ||
      !read_int(s, 5, 2, d.month) || !read_int(s, 8, 2, d.day))
    return Error::invalid_argument(std::string(field), "expected a date as YYYY-MM-DD");
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month))
    return Error::invalid_argument(std::string(field), "no such calendar date");
  if (d.year < 1900 || d.year > 2100)
    return Error::invalid_argument(std::string(field), "out of range: dates run from 1900-01-01 to 2100-12-31");
  return d;
}

Result<Date> parse_birth_date(std::string_view s, std::string_view field) {
  if (!s.starts_with("--")) {
    auto d = parse_date(s, field);
    if (!d && d.error().message.starts_with("expected"))
      return Error::invalid_argument(std::string(field), "expected a date as YYYY-MM-DD, or --MM-DD when the year is unknown");
    return d;
  }
  Date d;
  if (s.size() != 7 || s[4] != '-' || !read_int(s, 2, 2, d.month) || !read_int(s, 5, 2, d.day))
    return Error::invalid_argument(std::string(field), "expected a date as YYYY-MM-DD, or --MM-DD when the year is unknown");
  // A leap year, so that a birthday on 29 February is a day.
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(2000, d.month))
    return Error::invalid_argument(std::string(field), "no such day of the year");
  return d;
}

namespace {

Result<Date> make_date(int y, int m, int d, std::string_view field) {
  return parse_date(fmt::format("{:04}-{:02}-{:02}", y, m, d), field);
}

// A day and month without a year.
Result<Date> make_day(int m, int d, std::string_view field) {
  return parse_birth_date(fmt::format("--{:02}-{:02}", m, d), field);
}

// Month from a French or English name or abbreviation (accents optional), 0 if none.
int month_from_name(std::string w) {
  for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Strip the UTF-8 accents French month names use.
  auto replace = [&](std::string_view from, char to) {
    for (size_t p = w.find(from); p != std::string::npos; p = w.find(from)) w.replace(p, from.size(), 1, to);
  };
  replace("\xC3\xA9", 'e');  // é
  replace("\xC3\xBB", 'u');  // û
  replace("\xC3\x89", 'e');  // É
  while (!w.empty() && (w.back() == '.' || w.back() == ',')) w.pop_back();
  static constexpr std::pair<std::string_view, int> kNames[] = {
      {"janvier", 1}, {"janv", 1}, {"jan", 1}, {"january", 1}, {"fevrier", 2}, {"fevr", 2}, {"fev", 2}, {"feb", 2},
      {"february", 2}, {"mars", 3}, {"mar", 3}, {"march", 3}, {"avril", 4}, {"avr", 4}, {"apr", 4}, {"april", 4},
      {"mai", 5}, {"may", 5}, {"juin", 6}, {"jun", 6}, {"june", 6}, {"juillet", 7}, {"juil", 7}, {"jul", 7},
      {"july", 7}, {"aout", 8}, {"aug", 8}, {"august", 8}, {"septembre", 9}, {"sept", 9}, {"sep", 9},
      {"september", 9}, {"octobre", 10}, {"oct", 10}, {"october", 10}, {"novembre", 11}, {"nov", 11},
      {"november", 11}, {"decembre", 12}, {"dec", 12}, {"december", 12}};
  for (const auto& [name, m] : kNames)
    if (w == name) return m;
  return 0;
}

}  // namespace

Result<Date> parse_date_flexible(std::string_view raw, std::string_view field, Millis now, DateOrder order, Year year) {
  std::string_view s = raw;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  auto bad = [&] {
    return Error::invalid_argument(std::string(field),
                                   fmt::format("not a date (expected e.g. 09/07/1984 or 1984-07-09{}), got '{}'",
                                               year == Year::kOptional ? ", or 09/07 without the year" : "", raw));
  };
  // A date of a known shape that is no day ("31/02/1990", "01/01/1850") says so, as the API does.
  auto checked = [&](Result<Date> r) -> Result<Date> {
    if (r) return r;
    const std::string& why = r.error().message;
    if (!why.starts_with("no such") && !why.starts_with("out of range")) return bad();
    return Error::invalid_argument(std::string(field), fmt::format("{}, got '{}'", why, raw));
  };
  if (s.empty()) return bad();
  if (s.starts_with("--")) {  // ISO 8601's month-day
    if (year == Year::kRequired) return bad();
    auto r = parse_birth_date(s, field);
    return checked(r);
  }
  // A time after the date ("1984-07-09 00:00:00", "1984-07-09T00:00:00Z", "09/07/1984 00:00", as
  // database and shop exports write birth dates) is dropped: the date is what is kept.
  if (size_t colon = s.find(':'); colon != std::string_view::npos) {
    size_t start = s.find_last_of(" T", colon);
    if (start == std::string_view::npos || start == 0) return bad();
    std::string_view time = s.substr(start + 1);
    if (time.empty() || !std::all_of(time.begin(), time.end(), [](char c) {
          return (c >= '0' && c <= '9') || c == ':' || c == '.' || c == ',' || c == '+' || c == '-' || c == 'Z' || c == 'z';
        }))
      return bad();
    s = s.substr(0, start);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  }
  // Split into numeric and word tokens.
  std::vector<std::string> tokens;
  std::string cur;
  bool digits = false;
  for (char c : s) {
    bool d = c >= '0' && c <= '9';
    bool sep = c == '/' || c == '-' || c == '.' || c == ' ' || c == ',';
    if (sep) {
      if (!cur.empty()) tokens.push_back(cur);
      cur.clear();
      continue;
    }
    if (!cur.empty() && d != digits) {
      tokens.push_back(cur);
      cur.clear();
    }
    digits = d;
    cur += c;
  }
  if (!cur.empty()) tokens.push_back(cur);
  // "1er" -> "1"
  for (size_t i = 0; i + 1 < tokens.size(); ++i)
    if (tokens[i + 1] == "er" && std::isdigit(static_cast<unsigned char>(tokens[i][0]))) tokens.erase(tokens.begin() + static_cast<long>(i) + 1);
  auto is_num = [](const std::string& t) { return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  const Civil today = civil_from_days(now >= 0 ? now / 86'400'000 : (now - 86'399'999) / 86'400'000);
  const int current_year = static_cast<int>(today.year);
  bool two_digit_year = false;
  auto year_of = [&](const std::string& t) -> int {
    if (t.size() != 2 && t.size() != 4) return -1;
    int y = std::stoi(t);
    if (t.size() == 2) {
      two_digit_year = true;
      int century = current_year / 100 * 100;
      y = century + y <= current_year ? century + y : century - 100 + y;
    } else if (t.size() != 4) {
      return -1;
    }
    return y;
  };
  // A two-digit year whose date would come after today is of the century before ("09/12/26" read on
  // 2026-12-07 is 1926-12-09, not a date to come).
  auto in_the_past = [&](Result<Date> r) -> Result<Date> {
    if (!r || !two_digit_year) return r;
    Date d = *r;
    if (std::tuple(d.year, d.month, d.day) <= std::tuple(current_year, static_cast<int>(today.month), static_cast<int>(today.day)))
      return r;
    return make_date(d.year - 100, d.month, d.day, field);
  };
  if (tokens.size() == 2 && year == Year::kOptional) {  // a day and month: "12/05", "12 mai", "May 12"
    if (std::any_of(tokens.begin(), tokens.end(), [&](const std::string& t) { return is_num(t) && t.size() > 2; }))
      return bad();
    Result<Date> r = bad();
    if (is_num(tokens[0]) && is_num(tokens[1])) {
      int first = std::stoi(tokens[0]), second = std::stoi(tokens[1]);
      bool month_first = second > 12 ? first <= 12 : first <= 12 && order == DateOrder::kMonthFirst;
      r = month_first ? make_day(first, second, field) : make_day(second, first, field);
    } else if (is_num(tokens[0])) {
      if (int m = month_from_name(tokens[1])) r = make_day(m, std::stoi(tokens[0]), field);
    } else if (is_num(tokens[1])) {
      if (int m = month_from_name(tokens[0])) r = make_day(m, std::stoi(tokens[1]), field);
    }
    return checked(r);
  }
  if (tokens.size() != 3) return bad();
  // No part of a date has more than four digits (and none overflows an int when read).
  if (std::any_of(tokens.begin(), tokens.end(), [&](const std::string& t) { return is_num(t) && t.size() > 4; })) return bad();
  if (is_num(tokens[0]) && is_num(tokens[1]) && is_num(tokens[2])) {
    if (tokens[0].size() == 4) {  // Y M D
      auto r = make_date(std::stoi(tokens[0]), std::stoi(tokens[1]), std::stoi(tokens[2]), field);
      return checked(r);
    }
    if (tokens[0].size() > 2 || tokens[1].size() > 2) return bad();
    int y = year_of(tokens[2]);
    if (y < 0) return bad();
    int first = std::stoi(tokens[0]), second = std::stoi(tokens[1]);
    // The number above 12 is the day; when neither is, `order` says (day first, as in France).
    bool month_first = second > 12 ? first <= 12 : first <= 12 && order == DateOrder::kMonthFirst;
    auto r = in_the_past(month_first ? make_date(y, first, second, field) : make_date(y, second, first, field));
    return checked(r);
  }
  if (is_num(tokens[0]) && !is_num(tokens[1]) && is_num(tokens[2])) {  // 9 juillet 1984
    int m = month_from_name(tokens[1]);
    int y = year_of(tokens[2]);
    if (m == 0 || y < 0 || tokens[0].size() > 2) return bad();
    auto r = in_the_past(make_date(y, m, std::stoi(tokens[0]), field));
    return checked(r);
  }
  if (!is_num(tokens[0]) && is_num(tokens[1]) && is_num(tokens[2])) {  // July 9, 1984
    int m = month_from_name(tokens[0]);
    int y = year_of(tokens[2]);
    if (m == 0 || y < 0 || tokens[1].size() > 2) return bad();
    auto r = in_the_past(make_date(y, m, std::stoi(tokens[1]), field));
    return checked(r);
  }
  return bad();
}

std::optional<Date> date_from_spreadsheet_serial(std::string_view text) {
  text = text::trim(text);
  if (text.size() != 5 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int serial = 0;
  std::from_chars(text.data(), text.data() + text.size(), serial);
  if (serial < 10000 || serial > 73050) return std::nullopt;
  Civil c = civil_from_days(days_from_civil(1899, 12, 30) + serial);
  return Date{static_cast<int>(c.year), static_cast<int>(c.month), static_cast<int>(c.day)};
}

std::optional<DateOrder> date_order_of(std::string_view text) {
  // The first two runs of digits, when the text starts with one of at most two digits.
  int numbers[2] = {0, 0};
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  for (int k = 0; k < 2; ++k) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') numbers[k] = numbers[k] * 10 + (text[i++] - '0');
    if (i == start || i - start > 2) return std::nullopt;
    if (k == 0) {
      if (i >= text.size() || (text[i] != '/' && text[i] != '-' && text[i] != '.')) return std::nullopt;
      ++i;
    }
  }
  // The year, to tell a real date from an impossible one ("31/02/1980" says nothing of the order).
  int year = 2000;
  if (i < text.size() && (text[i] == '/' || text[i] == '-' || text[i] == '.')) {
    size_t start = ++i;
    int y = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 4) y = y * 10 + (text[i++] - '0');
    if (i - start == 4) year = y;
    else if (i - start == 2) year = 2000 + y;
  }
  if (numbers[0] > 12 && numbers[1] <= 12 && make_date(year, numbers[1], numbers[0], "date")) return DateOrder::kDayFirst;
  if (numbers[1] > 12 && numbers[0] <= 12 && make_date(year, numbers[0], numbers[1], "date")) return DateOrder::kMonthFirst;
  return std::nullopt;
}

std::string Date::to_string() const {
  if (year == 0) return fmt::format("--{:02}-{:02}", month, day);
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

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
