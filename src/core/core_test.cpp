#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>

#include "core/clock.h"
#include "core/email.h"
#include "core/money.h"
#include "core/result.h"
#include "core/text.h"

namespace fidelis {
namespace {

Result<int> half(int x) {
  if (x % 2) return Error::invalid_argument("x", "odd");
  return x / 2;
}
Result<int> quarter(int x) {
  FIDELIS_ASSIGN_OR_RETURN(int h, half(x));
  FIDELIS_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(Result, PropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "x");
  EXPECT_EQ(code_name(r.error().code), "invalid_argument");
}

// The arithmetic formatter agrees with the C library's calendar, leap days, centuries and times
// before 1970 included, and round-trips through the parser (which takes years 1900 to 2100).
TEST(Clock, FormatsLikeTheCalendar) {
  std::mt19937_64 rng(7);
  std::vector<Millis> samples = {-1, -86'400'000, -2'208'988'800'000, 951'782'400'000, 951'868'799'999,
                                 4'107'542'400'000, 253'402'300'799'999};
  std::uniform_int_distribution<Millis> any(-2'208'988'800'000, 253'402'300'799'999);
  for (int i = 0; i < 20'000; ++i) samples.push_back(any(rng));
  for (Millis ms : samples) {
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char want[64];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms - secs * 1000));
    ASSERT_EQ(format_iso8601(ms), want) << ms;
    if (tm.tm_year + 1900 >= 1900 && tm.tm_year + 1900 <= 2100) {  // the parser's years
      ASSERT_EQ(*parse_iso8601(want, "t"), ms) << want;
    }
  }
}

TEST(Clock, FormatsAndParsesIso8601) {
  EXPECT_EQ(format_iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(1'767'225'600'123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(*parse_iso8601("2026-01-01T00:00:00.123Z", "t"), 1'767'225'600'123);
  EXPECT_EQ(*parse_iso8601("2026-01-01T01:00:00+01:00", "t"), 1'767'225'600'000);
  EXPECT_EQ(*parse_iso8601("2026-01-01", "t"), 1'767'225'600'000);
  auto bad = parse_iso8601("2026-13-01T00:00:00Z", "created_after");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "created_after");
  EXPECT_FALSE(parse_iso8601("2026-01-01T00:00:00", "t"));  // no zone: ambiguous
}

TEST(Clock, ParsesOnlyRealDates) {
  EXPECT_TRUE(parse_date("2024-02-29", "d"));
  EXPECT_EQ(parse_date("2023-02-29", "d").error().message, "no such calendar date");
  // A real date outside the range Fidelis keeps is told as such, not as a wrong one.
  EXPECT_EQ(parse_date("1850-01-01", "d").error().message, "out of range: dates run from 1900-01-01 to 2100-12-31");
  EXPECT_EQ(parse_date("1850-01-01", "d").error().field, "d");
  EXPECT_FALSE(parse_date("01/02/2020", "d"));
  EXPECT_EQ(parse_date("1984-07-09", "d")->to_string(), "1984-07-09");
}

TEST(Clock, ParsesDatesAsFrenchFilesWriteThem) {
  Millis now = 1'767'225'600'000;  // 2026-01-01
  auto d = [&](std::string_view s) {
    auto r = parse_date_flexible(s, "birth_date", now);
    return r ? r->to_string() : "error: " + r.error().message;
  };
  EXPECT_EQ(d("1984-07-09"), "1984-07-09");
  EXPECT_EQ(d("09/07/1984"), "1984-07-09");
  EXPECT_EQ(d("9-7-1984"), "1984-07-09");
  EXPECT_EQ(d("09.07.1984"), "1984-07-09");
  EXPECT_EQ(d("09/07/84"), "1984-07-09");
  EXPECT_EQ(d("09/07/15"), "2015-07-09");
  EXPECT_EQ(d("1984/07/09"), "1984-07-09");
  EXPECT_EQ(d("9 juillet 1984"), "1984-07-09");
  EXPECT_EQ(d("1er août 1984"), "1984-08-01");
  EXPECT_EQ(d("12 déc. 1999"), "1999-12-12");
  EXPECT_EQ(d("July 9, 1984"), "1984-07-09");
  EXPECT_EQ(d("12/25/1990"), "1990-12-25");  // month first only when nothing else can be meant
  EXPECT_EQ(d("05/06/1990"), "1990-06-05");  // day first otherwise, as in France
  EXPECT_TRUE(d("13/25/1990").starts_with("error"));
  // Exports that write a time after the date.
  EXPECT_EQ(d("1984-07-09 00:00:00"), "1984-07-09");
  EXPECT_EQ(d("1984-07-09T00:00:00Z"), "1984-07-09");
  EXPECT_EQ(d("1984-07-09T00:00:00.000+02:00"), "1984-07-09");
  EXPECT_EQ(d("09/07/1984 00:00"), "1984-07-09");
  EXPECT_EQ(d(" 09/07/1984  12:30:05 "), "1984-07-09");
  EXPECT_TRUE(d("09/07/1984 midi:30").starts_with("error"));
  EXPECT_TRUE(d("12:30").starts_with("error"));
  EXPECT_TRUE(d("31/02/1984 00:00").starts_with("error"));
  EXPECT_TRUE(d("31/02/1984").starts_with("error"));
  EXPECT_TRUE(d("hier").starts_with("error"));
  EXPECT_TRUE(d("").starts_with("error"));
  EXPECT_EQ(parse_date_flexible("x", "birth_date", now).error().field, "birth_date");
  // A date of a known shape that is no day says why, as the API does.
  EXPECT_EQ(d("31/02/1990"), "error: no such calendar date, got '31/02/1990'");
  EXPECT_EQ(d("1990-02-31"), "error: no such calendar date, got '1990-02-31'");
  EXPECT_EQ(d("29/02/1991"), "error: no such calendar date, got '29/02/1991'");
  EXPECT_EQ(d("01/01/1850"), "error: out of range: dates run from 1900-01-01 to 2100-12-31, got '01/01/1850'");
  EXPECT_EQ(parse_date_flexible("30/02", "b", now, DateOrder::kDayFirst, Year::kOptional).error().message,
            "no such day of the year, got '30/02'");
  EXPECT_TRUE(d("hier").starts_with("error: not a date"));
  // Numbers too long for a date are no date, however many digits (nothing overflows).
  for (const char* huge : {"01/01/99999999999999999999", "99999999999999999999/01/01", "1984/99999999999/01",
                           "01/01/19840", "9 juillet 99999999999999", "July 99999999999, 1984", "12345/1/1"})
    EXPECT_TRUE(d(huge).starts_with("error")) << huge;
  // A two-digit year is in the century that leaves the whole date at or before today.
  Millis december = 1'796'601'600'000;  // 2026-12-07
  auto on = [&](std::string_view s) { return parse_date_flexible(s, "birth_date", december)->to_string(); };
  EXPECT_EQ(on("09/07/26"), "2026-07-09");
  EXPECT_EQ(on("07/12/26"), "2026-12-07");  // today
  EXPECT_EQ(on("09/12/26"), "1926-12-09");  // later this year: a century ago
  EXPECT_EQ(on("09/07/27"), "1927-07-09");
  EXPECT_EQ(on("9 décembre 26"), "1926-12-09");
  // The order of an ambiguous day and month can be given; unambiguous dates keep their own.
  EXPECT_EQ(parse_date_flexible("08/01/1975", "d", now, DateOrder::kMonthFirst)->to_string(), "1975-08-01");
  EXPECT_EQ(parse_date_flexible("08/01/1975", "d", now)->to_string(), "1975-01-08");
  EXPECT_EQ(parse_date_flexible("25/12/1990", "d", now, DateOrder::kMonthFirst)->to_string(), "1990-12-25");
  EXPECT_EQ(date_order_of("25/12/1990"), DateOrder::kDayFirst);
  EXPECT_EQ(date_order_of("12/25/1990"), DateOrder::kMonthFirst);
  EXPECT_EQ(date_order_of("08/01/1975"), std::nullopt);
  EXPECT_EQ(date_order_of("31/02/1980"), std::nullopt);  // a date in neither order says nothing
  EXPECT_EQ(date_order_of("02/31/1980"), std::nullopt);
  EXPECT_EQ(date_order_of("1984-07-09"), std::nullopt);
  EXPECT_EQ(date_order_of("9 juillet 1984"), std::nullopt);
}

TEST(Clock, ReadsBirthdaysWithoutAYear) {
  // ISO 8601's month-day: what a profile stores when only the day and month are known.
  EXPECT_EQ(parse_birth_date("--05-12", "birth_date")->to_string(), "--05-12");
  EXPECT_EQ(parse_birth_date("--02-29", "birth_date")->to_string(), "--02-29");
  EXPECT_FALSE(parse_birth_date("--02-29", "birth_date")->has_year());
  EXPECT_EQ(parse_birth_date("1984-07-09", "birth_date")->to_string(), "1984-07-09");
  for (const char* bad : {"--02-30", "--13-01", "--00-10", "--5-12", "--05-12-1980", "05-12", "--0512", "---05-12"}) {
    auto r = parse_birth_date(bad, "household[0].birth_date");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field, "household[0].birth_date");
  }
  // Files: a day and month only where a year may be missing.
  Millis now = 1'796'601'600'000;  // 2026-12-07
  auto d = [&](std::string_view s, DateOrder order = DateOrder::kDayFirst) {
    auto r = parse_date_flexible(s, "birth_date", now, order, Year::kOptional);
    return r ? r->to_string() : "error: " + r.error().message;
  };
  EXPECT_EQ(d("12/05"), "--05-12");
  EXPECT_EQ(d("12.05"), "--05-12");
  EXPECT_EQ(d("12-05"), "--05-12");
  EXPECT_EQ(d("5/12", DateOrder::kMonthFirst), "--05-12");
  EXPECT_EQ(d("25/12", DateOrder::kMonthFirst), "--12-25");  // the number above 12 is the day
  EXPECT_EQ(d("12 mai"), "--05-12");
  EXPECT_EQ(d("1er mai"), "--05-01");
  EXPECT_EQ(d("May 12"), "--05-12");
  EXPECT_EQ(d("29 février"), "--02-29");
  EXPECT_EQ(d("--05-12"), "--05-12");
  EXPECT_EQ(d("12/05/1984"), "1984-05-12");  // a year, when there is one, is kept
  for (const char* bad : {"31/02", "13/13", "123/05", "12 truc", "mai", "--02-30", "12"})
    EXPECT_TRUE(d(bad).starts_with("error")) << bad;
  EXPECT_EQ(d("31/02"), "error: no such day of the year, got '31/02'");
  EXPECT_NE(d("12 truc").find("09/07 without the year"), std::string::npos);
  // Where a year is required, none of these is a date.
  for (const char* day : {"12/05", "12 mai", "--05-12"})
    EXPECT_FALSE(parse_date_flexible(day, "birth_date", now)) << day;
}

TEST(Clock, ReadsSpreadsheetDayNumbers) {
  auto d = [](std::string_view s) {
    auto r = date_from_spreadsheet_serial(s);
    return r ? r->to_string() : std::string("none");
  };
  EXPECT_EQ(d("30987"), "1984-11-01");
  EXPECT_EQ(d(" 45658 "), "2025-01-01");
  EXPECT_EQ(d("10000"), "1927-05-18");
  EXPECT_EQ(d("73050"), "2099-12-31");
  for (const char* no : {"1984", "9999", "73051", "123456", "30987,5", "3098a", "", "-30987"}) EXPECT_EQ(d(no), "none") << no;
}

TEST(Email, PlaceholdersForNoAddressAreRecognised) {
  for (const char* fake : {"noemail@gmail.com", "no.email@orange.fr", "pas-de-mail@free.fr", "Aucun@aucun.fr",
                           "inconnu@hotmail.fr", "xxx@xxx.fr", "jean.dupont@nomail.com", "client@pasdemail.fr",
                           "a@no-mail.fr", "NULL@null.com"})
    EXPECT_TRUE(is_placeholder_email(fake)) << fake;
  for (const char* real : {"jean.dupont@gmail.com", "contact@boutique.fr", "mail@entreprise.fr", "noemie@free.fr",
                           "inconnu.jean@orange.fr", "nomade@mailpro.fr", "x@exemple.fr", "no-at-sign"})
    EXPECT_FALSE(is_placeholder_email(real)) << real;
}

TEST(Email, DomainsMistypedFromCommonProvidersAreRecognised) {
  auto meant = [](std::string_view e) { return likely_domain_typo(e).value_or("none"); };
  EXPECT_EQ(meant("jean@gmial.com"), "gmail.com");    // swapped
  EXPECT_EQ(meant("jean@gmail.con"), "gmail.com");    // changed
  EXPECT_EQ(meant("jean@gmai.com"), "gmail.com");     // missing
  EXPECT_EQ(meant("jean@gmaill.com"), "gmail.com");   // added
  EXPECT_EQ(meant("jean@hotmail.fe"), "hotmail.fr");
  EXPECT_EQ(meant("jean@ornage.fr"), "orange.fr");
  EXPECT_EQ(meant("jean@wanadoo.ff"), "wanadoo.fr");
  EXPECT_EQ(meant("jean@gmail.fr"), "gmail.com");     // no mailbox domain of Gmail's
  EXPECT_EQ(meant("jean@hotmail.con"), "hotmail.com");
  EXPECT_EQ(meant("jean@gmail.co"), "gmail.com");
  EXPECT_EQ(meant("jean@hotmail.co"), "hotmail.com");
  EXPECT_EQ(meant("jean@yahoo.cm"), "yahoo.com");
  EXPECT_EQ(meant("jean@outlook.co"), "outlook.com");
  EXPECT_EQ(meant("jean@yahooo.fr"), "yahoo.fr");
  EXPECT_EQ(meant("jean@icluod.com"), "icloud.com");
  EXPECT_EQ(meant("jean@hotmal.fr"), "hotmail.fr");
  // Real domains: other providers' and other countries', short company names.
  for (const char* fine : {"jean@gmail.com", "jean@yahoo.com", "jean@yahoo.fr", "jean@live.fr", "jean@sfr.fr",
                           "jean@entreprise.fr", "jean@orange-business.com", "jean@ymail.com", "jean@mail.com",
                           "jean@email.com", "jean@hotmail.de", "jean@hotmail.se", "jean@yahoo.de", "jean@yahoo.ie",
                           "jean@yahoo.gr", "jean@hotmail.fi", "jean@hotmail.co.uk", "jean@aon.com", "jean@msc.com",
                           "jean@gmx.de", "jean@orange.com", "jean@googlemail.com", "jean@cloud.com",
                           "jean@livre.fr", "jean@grange.fr", "jean@orage.fr", "jean@xbox.fr", "jean@oeuf.fr",
                           "no-at-sign"})
    EXPECT_EQ(meant(fine), "none") << fine;
}

TEST(Email, NormalisesAndRecognisesDisposableDomains) {
  EXPECT_EQ(*normalize_email(" Jean.Dupont@Orange.FR "), "Jean.Dupont@orange.fr");
  EXPECT_EQ(*normalize_email("élodie@exemple.fr"), "élodie@exemple.fr");
  // Invisible characters and no-break spaces: refused inside, trimmed around; soft hyphens go.
  for (const char* hidden : {"zoe\u200B@mail.fr", "zoe@mail.fr\u200Bx", "zoe\u2060@mail.fr", "zo\u00A0e@mail.fr",
                             "zoe\u200E@mail.fr"})
    EXPECT_FALSE(normalize_email(hidden)) << hidden;
  EXPECT_EQ(*normalize_email("\u00A0zoe@mail.fr\u202F"), "zoe@mail.fr");
  EXPECT_EQ(*normalize_email("zoe@mail\u00AD.fr"), "zoe@mail.fr");
  EXPECT_EQ(normalize_email("jean@@x.fr").error().field, "email");
  EXPECT_EQ(normalize_email("06 11 22 33 44").error().message, "is a phone number, not an e-mail address (expected name@domain)");
  EXPECT_EQ(normalize_email("+33 (0)6.11.22.33.44").error().message,
            "is a phone number, not an e-mail address (expected name@domain)");
  EXPECT_EQ(normalize_email("12").error().message, "expected name@domain");
  EXPECT_FALSE(normalize_email("jean@localhost"));
  EXPECT_FALSE(normalize_email("jean..d@x.fr"));
  EXPECT_EQ(*normalize_email("jean@orange.fr."), "jean@orange.fr");  // the domain in full, root dot included
  EXPECT_FALSE(normalize_email("jean@orange.fr.."));
  EXPECT_FALSE(normalize_email("jean@."));
  // An IDN domain is one address in either spelling.
  EXPECT_EQ(*normalize_email("jurgen@xn--exmple-cua.fr"), "jurgen@exämple.fr");
  EXPECT_EQ(*normalize_email("jurgen@mail.XN--EXMPLE-CUA.fr"), "jurgen@mail.exämple.fr");
  EXPECT_EQ(normalize_email("jurgen@xn--.fr").error().field, "email");
  EXPECT_EQ(*normalize_email("Hans@MÜNCHEN.DE"), "Hans@münchen.de");
  EXPECT_TRUE(is_disposable_email("x@yopmail.com"));
  EXPECT_TRUE(is_disposable_email("x@alias.mailinator.com"));
  EXPECT_FALSE(is_disposable_email("x@orange.fr"));
  EXPECT_FALSE(is_disposable_email("x@notyopmail.com"));
}

TEST(Money, AddsSameCurrencyOnly) {
  auto a = Money::of(1050, "eur");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->currency, "EUR");
  EXPECT_EQ(a->plus(Money{-2000, "EUR"})->to_string(), "-9.50 EUR");
  EXPECT_FALSE(a->plus(Money{1, "USD"}));
  EXPECT_FALSE(Money::of(1, "EURO"));
  EXPECT_FALSE((Money{INT64_MAX, "EUR"}.plus(Money{1, "EUR"})));
}

TEST(Text, SearchKeyFoldsAccentsCaseAndPunctuation) {
  EXPECT_EQ(text::search_key("Lefèvre-D'Arc "), "lefevre d arc");
  EXPECT_EQ(text::search_key("ÉLODIE  Œuvrard"), "elodie oeuvrard");
  EXPECT_EQ(text::search_key("Jean\xE2\x80\x99Pierre"), "jean pierre");
  EXPECT_EQ(text::search_key("Łukasz Dvořák"), "lukasz dvorak");
  EXPECT_EQ(text::search_key("Pre\xCC\x81nom"), "prenom");  // decomposed: e + U+0301
}

TEST(Text, Utf8Validation) {
  EXPECT_TRUE(text::is_valid_utf8("Noël à Orléans"));
  EXPECT_FALSE(text::is_valid_utf8("\xC3"));
  EXPECT_FALSE(text::is_valid_utf8("\xC0\xAF"));   // overlong
  EXPECT_FALSE(text::is_valid_utf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(text::is_valid_utf8("caf\xE9"));  // Latin-1
}

TEST(Text, LengthCountsCharactersNotBytes) {
  EXPECT_EQ(text::utf8_length(""), 0u);
  EXPECT_EQ(text::utf8_length("Noël"), 4u);
  std::string e;
  for (int i = 0; i < 101; ++i) e += "é";
  EXPECT_EQ(e.size(), 202u);
  EXPECT_EQ(text::utf8_length(e), 101u);
  EXPECT_EQ(text::utf8_length("\xF0\x9F\x8C\xBB"), 1u);  // one character outside the BMP
}

TEST(Text, TrimTakesUnicodeSpacesToo) {
  EXPECT_EQ(text::trim("\u00A0 Jean\u00A0"), "Jean");
  EXPECT_EQ(text::trim("\u3000Jean Pierre\u202F\u2009"), "Jean Pierre");
  EXPECT_EQ(text::trim("\u00A0\u00A0"), "");
  EXPECT_EQ(text::trim("Jean\u00A0Pierre"), "Jean\u00A0Pierre");  // inside: kept
  EXPECT_EQ(text::trim("café"), "café");                             // a letter's continuation byte
  EXPECT_TRUE(text::has_unicode_space("a\u00A0b"));
  EXPECT_FALSE(text::has_unicode_space("a b"));
}

TEST(Text, ControlCharactersAreFound) {
  EXPECT_FALSE(text::has_control_character("Léa, née le 3 mai — « ok »"));
  EXPECT_TRUE(text::has_control_character(std::string("a\0b", 3)));
  EXPECT_TRUE(text::has_control_character("ligne\nsuivante"));
  EXPECT_TRUE(text::has_control_character("a\tb"));
  EXPECT_TRUE(text::has_control_character("a\x7F"));
  EXPECT_TRUE(text::has_control_character("a\xC2\x85"));   // U+0085 NEL, a C1 control
  EXPECT_FALSE(text::has_control_character("a\xC2\xA0"));  // U+00A0 no-break space
  // Invisible characters that change how text shows.
  EXPECT_TRUE(text::has_control_character("Jean\u202EPierre"));  // right-to-left override
  EXPECT_TRUE(text::has_control_character("Jean\u2028Pierre"));  // line separator
  EXPECT_TRUE(text::has_control_character("Jean\u200BPierre"));  // zero-width space
  EXPECT_TRUE(text::has_control_character("Jean\u2066Pierre"));  // left-to-right isolate
  EXPECT_TRUE(text::has_control_character("\uFEFFJean"));
  for (const char* hidden : {"\u061C", "\u2060", "\u00AD", "\U000E0001", "\u115F", "\u180E", "\u034F", "\u3164"})
    EXPECT_TRUE(text::has_control_character(std::string("Jean") + hidden + "Pierre")) << hidden;
  EXPECT_FALSE(text::has_control_character("\u2764\uFE0F"));  // a variation selector inside an emoji
  // Scotland's flag: a black flag, then tag characters ending with U+E007F.
  EXPECT_FALSE(text::has_control_character("Go \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F!"));
  EXPECT_TRUE(text::has_control_character("Go \U0001F3F4 \U000E0067"));
  for (const char* hidden : {"\u1160", "\uFFA0", "\u2064", "\U000E007F"})
    EXPECT_TRUE(text::has_control_character(std::string("a") + hidden + "b")) << hidden;
  EXPECT_FALSE(text::has_control_character("a\u2065b"));  // unassigned, not a format character
  EXPECT_EQ(text::without_soft_hyphens("Mont\u00ADpel\u00ADlier"), "Montpellier");
  EXPECT_FALSE(text::has_control_character("Jean\u2019Pierre"));  // a curly apostrophe is text
  EXPECT_FALSE(text::has_control_character("\U0001F469\u200D\U0001F4BB"));  // a joiner inside an emoji
}

TEST(Text, InvisibleCharactersAreTakenOut) {
  // A number copied from a messaging app, wrapped in directional embeddings.
  EXPECT_EQ(text::without_invisible("\u202A+33 6 12 34 56 87\u202C"), "+33 6 12 34 56 87");
  EXPECT_EQ(text::without_invisible("\uFEFFDu\u200Bpont\u2060"), "Dupont");
  for (const char* hidden : {"\u061C", "\u2060", "\u00AD", "\u115F", "\u180E", "\u034F", "\u3164", "\u1160", "\uFFA0",
                             "\u2064", "\u200E", "\u200F", "\u202E", "\u2066", "\u2069"}) {
    std::string s = text::without_invisible(std::string("Jean") + hidden + "Pierre");
    EXPECT_EQ(s, "JeanPierre") << hidden;
    EXPECT_FALSE(text::has_control_character(s)) << hidden;
  }
  // What shows stays: line breaks and tabs (for the caller to read), joiners inside emoji, accents,
  // no-break spaces, a Scotland flag's tag characters.
  EXPECT_EQ(text::without_invisible("a\nb\tc"), "a\nb\tc");
  EXPECT_EQ(text::without_invisible("\U0001F469\u200D\U0001F4BB é\u00A0!"), "\U0001F469\u200D\U0001F4BB é\u00A0!");
  EXPECT_EQ(text::without_invisible("\U0001F3F4\U000E0067\U000E007F"), "\U0001F3F4\U000E0067\U000E007F");
  EXPECT_EQ(text::without_invisible("a\u2028b"), "a\u2028b");
  EXPECT_EQ(text::without_invisible("\u200B"), "");
}

TEST(Text, DecomposedTextIsComposed) {
  EXPECT_EQ(text::to_nfc("Pre\xCC\x81nom"), "Prénom");
  EXPECT_EQ(text::to_nfc("Prénom"), "Prénom");
  EXPECT_EQ(text::to_nfc("plain"), "plain");
  EXPECT_EQ(text::utf8_length(text::to_nfc("e\xCC\x81te\xCC\x81")), 3u);
}

TEST(Text, Base64UrlRoundTrip) {
  std::string out;
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    ASSERT_TRUE(text::base64url_decode(text::base64url_encode(s), out));
    EXPECT_EQ(out, s);
  }
  EXPECT_FALSE(text::base64url_decode("ab$c", out));
  // "a" is "YQ"; "YR" to "Yf" differ only in bits past the byte: not the same text spelled otherwise.
  EXPECT_TRUE(text::base64url_decode("YQ", out));
  EXPECT_FALSE(text::base64url_decode("YR", out));
  EXPECT_FALSE(text::base64url_decode("Yf", out));
  EXPECT_FALSE(text::base64url_decode("Y", out));
}

TEST(Text, HexAndPercentDecoding) {
  std::string out;
  ASSERT_TRUE(text::hex_decode(text::hex_encode(std::string("\0\xff\x10", 3)), out));
  EXPECT_EQ(out, std::string("\0\xff\x10", 3));
  ASSERT_TRUE(text::hex_decode("C3A9", out));
  EXPECT_EQ(out, "é");
  EXPECT_FALSE(text::hex_decode("abc", out));
  EXPECT_FALSE(text::hex_decode("zz", out));
  EXPECT_EQ(text::percent_decode("caf%C3%A9+cr%c3%a8me%2", true), "café crème%2");
  EXPECT_EQ(text::percent_decode("/a+b/%2F%zz", false), "/a+b//%zz");
}

TEST(Text, CaseMappingCoversFrenchLetters) {
  EXPECT_EQ(text::to_lower("ÉLODIE ŒUVRARD ÇA"), "élodie œuvrard ça");
  EXPECT_EQ(text::to_upper("éèêëàâîïôûùüÿçœ"), "ÉÈÊËÀÂÎÏÔÛÙÜŸÇŒ");
  EXPECT_EQ(text::to_lower("ŁÓDŹ"), "łódź");
}

TEST(Text, PrefixUpperBound) {
  EXPECT_EQ(text::prefix_upper_bound("dup"), "duq");
  EXPECT_EQ(text::prefix_upper_bound(""), "");
}

}  // namespace
}  // namespace fidelis
