// Templates: mustache parsing and rendering (kainjow), the JSON context turned into mustache data,
// money written for the message's locale.

#include <fmt/format.h>

#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "core/text.h"
#include "mail/mail.h"

namespace fidelis::mail {

namespace km = kainjow::mustache;
using Json = nlohmann::json;

namespace {

// {"minor": 19990, "currency": "EUR"} and nothing else.
bool is_money(const Json& j) {
  return j.is_object() && j.size() == 2 && j.contains("minor") && j["minor"].is_number_integer() &&
         j.contains("currency") && j["currency"].is_string() && j["currency"].get<std::string>().size() == 3;
}

km::data to_data(const Json& j, std::string_view locale) {
  if (is_money(j)) return km::data(format_money(j["minor"].get<int64_t>(), j["currency"].get<std::string>(), locale));
  switch (j.type()) {
    case Json::value_t::object: {
      km::data obj(km::data::type::object);
      for (auto it = j.begin(); it != j.end(); ++it) obj.set(it.key(), to_data(it.value(), locale));
      return obj;
    }
    case Json::value_t::array: {
      km::data list(km::data::type::list);
      for (const auto& v : j) list.push_back(to_data(v, locale));
      return list;
    }
    case Json::value_t::string: return km::data(j.get<std::string>());
    case Json::value_t::boolean: return km::data(j.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return km::data(j.dump());
    default: return km::data(false);  // null: an empty, false value
  }
}

std::string no_escape(const std::string& s) { return s; }

// Renders one template; InvalidArgument naming `field` when it does not parse or render.
Result<std::string> render_one(const std::string& source, const km::data& data, bool html, std::string_view field) {
  km::mustache tmpl(source);
  if (!tmpl.is_valid()) return Error::invalid_argument(std::string(field), tmpl.error_message());
  if (!html) tmpl.set_custom_escape(no_escape);
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) return Error::invalid_argument(std::string(field), tmpl.error_message());
  return out;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  return std::string(text::trim(s));
}

// Groups of three digits with `sep` between them.
std::string grouped(int64_t units, std::string_view sep) {
  std::string digits = std::to_string(units);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += sep;
    out += digits[i];
  }
  return out;
}

std::string_view symbol(std::string_view currency) {
  if (currency == "EUR") return "€";
  if (currency == "USD") return "$";
  if (currency == "GBP") return "£";
  return {};
}

}  // namespace

std::string normalize_locale(std::string_view locale) { return locale == "en" ? "en" : "fr"; }

Status check_locale(std::string_view locale) {
  if (locale != "fr" && locale != "en") return Error::invalid_argument("locale", "expected fr or en");
  return ok();
}

Status check_template_key(std::string_view key) {
  bool good = !key.empty() && key.size() <= 60 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (!good) return Error::invalid_argument("key", "1 to 60 of a-z, 0-9 and '_'");
  return ok();
}

Status check_template(const TemplateText& t) {
  const std::pair<std::string_view, const std::string*> parts[] = {{"subject", &t.subject}, {"text", &t.text}, {"html", &t.html}};
  for (auto [field, source] : parts) {
    if (!text::is_valid_utf8(*source)) return Error::invalid_argument(std::string(field), "must be UTF-8");
    if (source->size() > 256 * 1024) return Error::invalid_argument(std::string(field), "must be at most 256 KiB");
    km::mustache tmpl(*source);
    if (!tmpl.is_valid()) return Error::invalid_argument(std::string(field), "mustache syntax: " + tmpl.error_message());
  }
  if (text::trim(t.subject).empty()) return Error::invalid_argument("subject", "is required");
  if (t.subject.find_first_of("\r\n") != std::string::npos)
    return Error::invalid_argument("subject", "must be on one line");
  if (text::trim(t.text).empty()) return Error::invalid_argument("text", "is required");
  if (text::trim(t.html).empty()) return Error::invalid_argument("html", "is required");
  return ok();
}

Result<Rendered> render(const TemplateText& t, std::string_view context_json, std::string_view locale) {
  Json ctx = context_json.empty() ? Json::object() : Json::parse(context_json, nullptr, false);
  if (ctx.is_discarded() || !ctx.is_object())
    return Error::invalid_argument("context_json", "expected a JSON object");
  std::string loc = normalize_locale(locale);
  km::data data = to_data(ctx, loc);
  Rendered out;
  FIDELIS_ASSIGN_OR_RETURN(std::string subject, render_one(t.subject, data, false, "subject"));
  out.subject = one_line(std::move(subject));
  FIDELIS_ASSIGN_OR_RETURN(out.text, render_one(t.text, data, false, "text"));
  FIDELIS_ASSIGN_OR_RETURN(out.html, render_one(t.html, data, true, "html"));
  return out;
}

std::string format_money(int64_t minor, std::string_view currency, std::string_view locale) {
  bool negative = minor < 0;
  uint64_t abs = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  int64_t units = static_cast<int64_t>(abs / 100);
  int cents = static_cast<int>(abs % 100);
  std::string_view sym = symbol(currency);
  if (normalize_locale(locale) == "fr") {
    // 1 299,90 € : narrow no-break space between thousands, no-break space before the symbol.
    std::string amount = fmt::format("{}{},{:02d}", negative ? "-" : "", grouped(units, "\u202f"), cents);
    return fmt::format("{}\u00a0{}", amount, sym.empty() ? currency : sym);
  }
  std::string amount = fmt::format("{}.{:02d}", grouped(units, ","), cents);
  if (sym.empty()) return fmt::format("{}{} {}", negative ? "-" : "", currency, amount);
  return fmt::format("{}{}{}", negative ? "-" : "", sym, amount);
}

}  // namespace fidelis::mail
