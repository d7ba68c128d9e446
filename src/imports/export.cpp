// Streaming export of the base: CSV (plain or the French Excel flavour) and JSON Lines.

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/text.h"
#include "imports/imports.h"

namespace fidelis::imports {

using storage::Value;
using namespace customers;

Result<ExportFormat> parse_export_format(std::string_view name, std::string_view field) {
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "csv-excel-fr" || name == "excel") return ExportFormat::kCsvExcelFr;
  if (name == "jsonl" || name == "ndjson") return ExportFormat::kJsonLines;
  return Error::invalid_argument(std::string(field), "expected csv, csv-excel-fr or jsonl");
}

std::string spreadsheet_text(std::string value) {
  // A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): a
  // leading apostrophe makes it text, which it shows without the apostrophe.
  if (!value.empty() && std::string_view("=+-@\t\r").find(value[0]) != std::string_view::npos) value.insert(0, 1, '\'');
  return value;
}

namespace {

// The shortest decimal that reads back as `text`'s number ("2.5e-19", as fmt writes a double),
// written out without an exponent ("0.00000000000000000025"): the same digits, the point moved.
std::string without_exponent(const std::string& text) {
  size_t e = text.find_first_of("eE");
  if (e == std::string::npos) return text;
  std::string mantissa = text.substr(0, e), sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.erase(0, 1);
  }
  const long exponent = std::strtol(text.c_str() + e + 1, nullptr, 10);
  const size_t dot = mantissa.find('.');
  std::string digits = mantissa;
  if (dot != std::string::npos) digits.erase(dot, 1);
  // Where the point falls among the digits.
  const long point = static_cast<long>(dot == std::string::npos ? mantissa.size() : dot) + exponent;
  if (point <= 0) return sign + "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  if (point >= static_cast<long>(digits.size())) return sign + digits + std::string(static_cast<size_t>(point) - digits.size(), '0');
  return sign + digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
}

// A number custom field's value as spreadsheets and an import read it: every digit it needs, never
// an exponent ("0.00001", not "1e-05"), with a decimal comma for French Excel ("1234,5").
std::string number_cell(const CustomValue& v, bool french) {
  std::string text = without_exponent(custom_value_text(v));
  if (french) std::replace(text.begin(), text.end(), '.', ',');
  return text;
}

}  // namespace

std::string household_item(const HouseholdMember& m) {
  std::string out = m.relation;
  if (m.first_name || m.birth_date) {
    out += ':';
    out += m.first_name.value_or("");
  }
  if (m.birth_date) {
    out += ':';
    out += *m.birth_date;
  }
  return out;
}

std::string affinity_item(const Affinity& a) { return fmt::format("{}:{}", a.category, a.strength); }

Result<int64_t> export_customers(storage::Db& db, ExportFormat format, bool include_deleted,
                                 const std::function<Status(std::string_view chunk)>& sink) {
  const bool csv = format != ExportFormat::kJsonLines;
  const char delim = format == ExportFormat::kCsvExcelFr ? ';' : ',';
  std::string chunk;
  if (format == ExportFormat::kCsvExcelFr) chunk += "\xEF\xBB\xBF";  // Excel reads UTF-8 only with a BOM
  // One column per channel and purpose: yes, no, or empty when the customer never said.
  static const std::vector<std::pair<Channel, Purpose>> kConsents = [] {
    std::vector<std::pair<Channel, Purpose>> out;
    for (Channel c : {Channel::kEmail, Channel::kSms, Channel::kPost, Channel::kPhone})
      for (Purpose p : {Purpose::kNewsletter, Purpose::kOffers, Purpose::kService}) out.emplace_back(c, p);
    return out;
  }();
  const bool french = format == ExportFormat::kCsvExcelFr;
  // One column per custom field, headed by its key: an import reads it back into that field.
  std::vector<CustomFieldDef> defs;
  if (csv) {
    FIDELIS_ASSIGN_OR_RETURN(defs, custom_field_defs(db));
    std::vector<std::string> header = {"id",      "civility", "first_name", "last_name", "email",   "other_emails",
                                       "phone",   "other_phones", "birth_date", "street", "street2", "postcode",
                                       "city",    "country",  "tags",       "external_ids", "household", "affinities"};
    for (const auto& [c, p] : kConsents) header.push_back(fmt::format("consent:{}:{}", channel_name(c), purpose_name(p)));
    for (const CustomFieldDef& d : defs) header.push_back(d.key);
    for (const char* h : {"created_at", "updated_at", "deleted_at"}) header.emplace_back(h);
    chunk += csv_line(header, delim) + "\r\n";
  }
  int64_t after = 0, written = 0;
  constexpr int64_t kPage = 1000;
  while (true) {
    std::vector<int64_t> ids;
    Value p[] = {after, kPage};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                             db.query(include_deleted ? "SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2"
                                                      : "SELECT id FROM customers WHERE id > $1 AND deleted_at IS NULL "
                                                        "ORDER BY id LIMIT $2",
                                      p));
    for (const auto& r : rows.rows) ids.push_back(r.i64(0));
    if (ids.empty()) break;
    after = ids.back();
    std::vector<Customer> page;
    FIDELIS_RETURN_IF_ERROR(db.read([&](storage::Tx& tx) -> Status {
      FIDELIS_ASSIGN_OR_RETURN(page, load_customers_for_export(tx, ids));
      return ok();
    }));
    for (const Customer& c : page) {
      if (!csv) {
        chunk += render_document(c);
        chunk += '\n';
      } else {
        // Lists in one cell, '|' between items: an import reads them back as they were.
        auto join = [](const auto& list, size_t from, auto get) {
          std::string out;
          for (size_t i = from; i < list.size(); ++i) {
            if (!out.empty()) out += '|';
            out += get(list[i]);
          }
          return out;
        };
        std::vector<std::string> fields = {std::to_string(c.id),
                                           c.civility.value_or(""),
                                           c.first_name.value_or(""),
                                           c.last_name.value_or(""),
                                           c.emails.empty() ? "" : c.emails[0].email,
                                           join(c.emails, 1, [](const EmailAddress& e) { return e.email; }),
                                           c.phones.empty() ? "" : c.phones[0].e164.value_or(c.phones[0].raw),
                                           join(c.phones, 1, [](const Phone& p) { return p.e164.value_or(p.raw); }),
                                           c.birth_date.value_or(""),
                                           c.address.street.value_or(""),
                                           c.address.street2.value_or(""),
                                           c.address.postcode.value_or(""),
                                           c.address.city.value_or(""),
                                           c.address.country.value_or(""),
                                           join(c.tags, 0, [](const std::string& t) { return t; }),
                                           join(c.external_ids, 0, [](const ExternalId& x) { return x.source + ":" + x.id; }),
                                           join(c.household, 0, household_item),
                                           join(c.affinities, 0, affinity_item)};
        for (const auto& [channel, purpose] : kConsents) {
          auto k = std::find_if(c.consents.begin(), c.consents.end(),
                                [&](const Consent& x) { return x.channel == channel && x.purpose == purpose; });
          fields.push_back(k == c.consents.end() ? "" : k->granted ? (french ? "oui" : "yes") : (french ? "non" : "no"));
        }
        std::vector<bool> numeric(fields.size());  // cells a spreadsheet must read as numbers
        for (const CustomFieldDef& d : defs) {
          auto v = c.custom_fields.find(d.key);
          const bool number = v != c.custom_fields.end() &&
                              (std::holds_alternative<int64_t>(v->second) || std::holds_alternative<double>(v->second));
          numeric.push_back(number);
          if (v == c.custom_fields.end()) fields.emplace_back();
          else if (const bool* b = std::get_if<bool>(&v->second); b && french) fields.push_back(*b ? "oui" : "non");
          else if (number) fields.push_back(number_cell(v->second, french));
          else fields.push_back(custom_value_text(v->second));
        }
        fields.push_back(format_iso8601(c.created_at));
        fields.push_back(format_iso8601(c.updated_at));
        fields.push_back(c.deleted_at ? format_iso8601(*c.deleted_at) : "");
        // A number written by Fidelis runs no formula: "-12,5" stays a number.
        if (format == ExportFormat::kCsvExcelFr)
          for (size_t i = 0; i < fields.size(); ++i)
            if (i >= numeric.size() || !numeric[i]) fields[i] = spreadsheet_text(fields[i]);
        chunk += csv_line(fields, delim) + "\r\n";
      }
      ++written;
    }
    if (chunk.size() > (256 << 10)) {
      FIDELIS_RETURN_IF_ERROR(sink(chunk));
      chunk.clear();
    }
  }
  if (!chunk.empty()) FIDELIS_RETURN_IF_ERROR(sink(chunk));
  return written;
}

}  // namespace fidelis::imports
