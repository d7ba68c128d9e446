#pragma once
// Time in Fidelis: epoch milliseconds from an injected Clock. Nothing reads the system time directly.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace fidelis {

using Millis = int64_t;  // milliseconds since 1970-01-01T00:00:00Z

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis now() const = 0;  // thread-safe
};

class SystemClock final : public Clock {
 public:
  Millis now() const override;
};

// A clock tests move by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Millis start = 1'767'225'600'000) : now_(start) {}  // 2026-01-01T00:00:00Z
  Millis now() const override { return now_.load(); }
  void advance(Millis ms) { now_ += ms; }
  void set(Millis ms) { now_ = ms; }

 private:
  std::atomic<Millis> now_;
};

// "2026-01-01T00:00:00.000Z"
std::string format_iso8601(Millis ms);
// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)". InvalidArgument naming `field` otherwise.
Result<Millis> parse_iso8601(std::string_view text, std::string_view field);

// A calendar date without time (birth dates). Valid dates only, years 1900..2100; year 0 is a day
// and month whose year is unknown (a birthday: only parse_birth_date and parse_date_flexible with
// Year::kOptional make one).
struct Date {
  int year = 0, month = 0, day = 0;
  bool has_year() const { return year != 0; }
  std::string to_string() const;  // "YYYY-MM-DD", or "--MM-DD" without a year (ISO 8601's month-day)
  auto operator<=>(const Date&) const = default;
};
Result<Date> parse_date(std::string_view text, std::string_view field);
// A birth date: "YYYY-MM-DD" as parse_date, or "--MM-DD" when only the day and month are known
// ("--02-29" included). InvalidArgument naming `field` otherwise.
Result<Date> parse_birth_date(std::string_view text, std::string_view field);
// Whether parse_date_flexible takes a day and month without a year.
enum class Year { kRequired, kOptional };
// Which of two numbers that could each be a day or a month ("08/01/1975") comes first.
enum class DateOrder { kDayFirst, kMonthFirst };
// Dates as French and international files write them: "1984-07-09", "09/07/1984", "9-7-1984",
// "09.07.1984", "09/07/84" (a two-digit year is in the century that puts the whole date at or
// before `now`'s: "09/12/26" is 1926 on 2026-12-07), "1984/07/09", "9 juillet 1984", "1er juillet
// 1984", "9 juil. 1984", "July 9, 1984"; a time after the date is dropped ("1984-07-09 00:00:00",
// "1984-07-09T00:00:00Z", "09/07/1984 00:00"). Two numbers that could each be the day or the month
// are read in `order` (day first, the French order, by default); otherwise the one above 12 is the
// day ("12/25/1990"). With Year::kOptional, a day and month without a year are a Date of year 0:
// "12/05", "12.05", "12-05" (in `order` as above), "12 mai", "1er mai", "May 12", and ISO 8601's
// "--05-12"; "29/02" is a day. InvalidArgument naming `field` otherwise.
Result<Date> parse_date_flexible(std::string_view text, std::string_view field, Millis now,
                                 DateOrder order = DateOrder::kDayFirst, Year year = Year::kRequired);
// The date a spreadsheet's day number stands for, when a date column was saved as numbers: five
// digits from 10000 to 73050 (1927-05-18 to 2099-12-31, Excel's and LibreOffice's count from
// 1899-12-30: 30987 is 1984-11-01). nullopt for anything else (a year alone, "1984", is not one).
std::optional<Date> date_from_spreadsheet_serial(std::string_view text);
// What a numeric date says of the order of its day and month: kDayFirst when its first number is
// above 12 ("25/12/1990"), kMonthFirst when its second is ("12/25/1990"), nullopt when it cannot
// tell ("08/01/1975", "1984-07-09", "9 juillet 1984"), or is no date in either order ("31/02/1980").
std::optional<DateOrder> date_order_of(std::string_view text);

}  // namespace fidelis
