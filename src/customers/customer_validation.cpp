// Validation and normalisation of a CustomerInput: every problem names its field.

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "core/clock.h"
#include "core/email.h"
#include "core/text.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

Error not_a_country_code(std::string_view field, std::string_view given) {
  // A country written by its name ("France", "Belgique") says which code it wants.
  std::optional<std::string> named = country_from_name(given);
  return Error::invalid_argument(std::string(field),
                                 named ? fmt::format("expected an ISO 3166-1 alpha-2 code: {} for '{}'", *named, given)
                                       : std::string("expected an ISO 3166-1 alpha-2 code such as FR"));
}
namespace {

// A one-line text of at most `max` characters (not bytes: "é" is one), trimmed, empty as unset.
// Control characters (line breaks, tabs, NUL...) have no place in a name, an address or a label;
// soft hyphens, invisible hints left by copies from documents, are taken out.
Status check_text(std::optional<std::string>& v, std::string_view field, size_t max) {
  if (!v) return ok();
  if (!text::is_valid_utf8(*v)) return Error::invalid_argument(std::string(field), "is not valid UTF-8");
  *v = text::to_nfc(text::trim(text::without_soft_hyphens(*v)));
  if (text::utf8_length(*v) > max)
    return Error::invalid_argument(std::string(field), fmt::format("is longer than {} characters", max));
  if (text::has_control_character(*v))
    return Error::invalid_argument(std::string(field), "holds a control or invisible character (a line break, a tab, a "
                                                       "zero-width space, a bidirectional mark...)");
  if (v->empty()) v.reset();
  return ok();
}

Status check_birth_date(std::optional<std::string>& v, std::string_view field, Millis now) {
  if (!v) return ok();
  FIDELIS_ASSIGN_OR_RETURN(Date d, parse_birth_date(*v, field));
  if (d.has_year() && d.to_string() > format_iso8601(now).substr(0, 10))
    return Error::invalid_argument(std::string(field), "is in the future");
  return ok();
}

// A name must hold a letter, and not be what forms and spreadsheets write for "no name".
Status check_name(const std::optional<std::string>& v, std::string_view field) {
  if (!v) return ok();
  bool letter = std::any_of(v->begin(), v->end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
  });
  if (!letter) return Error::invalid_argument(std::string(field), "has no letter: not a name");
  static constexpr std::string_view kPlaceholders[] = {"n a",  "na",     "nc",      "n c",     "nr",   "n r",  "nd",
                                                       "n d",  "inconnu", "inconnue", "unknown", "aucun", "aucune",
                                                       "neant", "none",  "null",    "nil",     "xx",   "xxx",  "xxxx"};
  if (v->size() > 12) return ok();  // longer than any placeholder
  std::string key = text::search_key(*v);
  std::replace(key.begin(), key.end(), '.', ' ');
  key = text::search_key(key);
  if (std::find(std::begin(kPlaceholders), std::end(kPlaceholders), key) != std::end(kPlaceholders))
    return Error::invalid_argument(std::string(field), fmt::format("'{}' is a placeholder, not a name", *v));
  return ok();
}

}  // namespace

Status validate_input(CustomerInput& in, const std::vector<CustomFieldDef>& defs, Millis now, std::string_view phone_region) {
  for (const std::string& c : in.clear) {
    if (c != "civility" && c != "first_name" && c != "last_name" && c != "birth_date")
      return Error::invalid_argument("clear", "cannot clear '" + c + "'; clearable: civility, first_name, last_name, birth_date");
  }
  FIDELIS_RETURN_IF_ERROR(check_text(in.civility, "civility", 20));
  FIDELIS_RETURN_IF_ERROR(check_text(in.first_name, "first_name", 100));
  FIDELIS_RETURN_IF_ERROR(check_text(in.last_name, "last_name", 100));
  FIDELIS_RETURN_IF_ERROR(check_name(in.first_name, "first_name"));
  FIDELIS_RETURN_IF_ERROR(check_name(in.last_name, "last_name"));
  if (in.first_name) in.first_name = normalize_name(*in.first_name);
  if (in.last_name) in.last_name = normalize_name(*in.last_name);
  if (in.civility) {
    // As files and forms write them, in any case, with or without the dot.
    static constexpr std::pair<std::string_view, std::string_view> kForms[] = {
        {"m", "M."},   {"mr", "M."},  {"monsieur", "M."}, {"mme", "Mme"}, {"madame", "Mme"}, {"mrs", "Mme"},
        {"ms", "Mme"}, {"mlle", "Mme"}, {"mademoiselle", "Mme"}, {"miss", "Mme"}, {"mx", "Mx"}, {"dr", "Dr"},
        {"docteur", "Dr"}, {"doctor", "Dr"}, {"me", "Me"}, {"maitre", "Me"}};
    std::string key = text::search_key(*in.civility);
    while (!key.empty() && key.back() == '.') key.pop_back();
    auto form = std::find_if(std::begin(kForms), std::end(kForms), [&](const auto& f) { return f.first == key; });
    if (form == std::end(kForms)) return Error::invalid_argument("civility", "expected M., Mme, Mx, Dr or Me");
    in.civility = std::string(form->second);
  }
  FIDELIS_RETURN_IF_ERROR(check_birth_date(in.birth_date, "birth_date", now));

  if (in.emails) {
    if (in.emails->size() > 10) return Error::invalid_argument("emails", "at most 10 e-mail addresses");
    std::set<std::string> seen;
    for (size_t i = 0; i < in.emails->size(); ++i) {
      auto& e = (*in.emails)[i];
      std::string field = fmt::format("emails[{}].email", i);
      FIDELIS_ASSIGN_OR_RETURN(e.email, normalize_email(e.email, field));
      if (is_placeholder_email(e.email))
        return Error::invalid_argument(field, fmt::format("'{}' is a placeholder for no e-mail, not an address", e.email));
      if (!seen.insert(text::to_lower_ascii(e.email)).second)
        return Error::invalid_argument(field, "appears twice");
      std::optional<std::string> label = e.label;
      FIDELIS_RETURN_IF_ERROR(check_text(label, fmt::format("emails[{}].label", i), 50));
      e.label = label.value_or("");
    }
  }
  // A number written without its country code is read as one of the address's country, else of
  // `phone_region`.
  std::string region(phone_region.empty() ? "FR" : phone_region);
  if (in.address && in.address->country) {
    std::string c = text::to_upper(text::trim(*in.address->country));
    if (is_country_code(c)) region = c;
  }
  if (in.phones) {
    if (in.phones->size() > 10) return Error::invalid_argument("phones", "at most 10 phone numbers");
    for (size_t i = 0; i < in.phones->size(); ++i) {
      auto& p = (*in.phones)[i];
      std::optional<std::string> raw = p.raw;
      FIDELIS_RETURN_IF_ERROR(check_text(raw, fmt::format("phones[{}].number", i), 40));
      if (!raw) return Error::invalid_argument(fmt::format("phones[{}].number", i), "is empty");
      std::optional<std::string> label = p.label;
      FIDELIS_RETURN_IF_ERROR(check_text(label, fmt::format("phones[{}].label", i), 50));
      // Invalid numbers are kept as given and flagged, not rejected: a person may still call them.
      p = normalize_phone(*raw, label.value_or(""), region);
    }
  }
  if (in.address) {
    auto& a = *in.address;
    FIDELIS_RETURN_IF_ERROR(check_text(a.street, "address.street", 200));
    FIDELIS_RETURN_IF_ERROR(check_text(a.street2, "address.street2", 200));
    FIDELIS_RETURN_IF_ERROR(check_text(a.postcode, "address.postcode", 20));
    FIDELIS_RETURN_IF_ERROR(check_text(a.city, "address.city", 100));
    FIDELIS_RETURN_IF_ERROR(check_text(a.country, "address.country", 60));
    if (a.country) {
      std::string c = text::to_upper(*a.country);
      if (!is_country_code(c)) return not_a_country_code("address.country", *a.country);
      a.country = c;
    }
    // Without a country, an address is taken for French when its postcode is written in digits
    // ("6900" is a French one mistyped); "AB-123" or "SW1A 1AA" belong to a country nobody named
    // (an import keeps such a postcode when the country given was not recognised).
    auto digits = [](const std::string& p) {
      return !p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return (c >= '0' && c <= '9') || c == ' '; });
    };
    // "F-75001" (the old European prefix) and "75008 CEDEX 08" are French postcodes written the way
    // letters still carry them.
    std::optional<std::string> cedex;
    if (a.postcode) {
      std::string key = text::search_key(*a.postcode);
      if (key.size() > 2 && key.starts_with("f ") && digits(key.substr(2))) *a.postcode = key.substr(2);
      else if (key.size() > 3 && key.starts_with("fr ") && digits(key.substr(3))) *a.postcode = key.substr(3);
      if (size_t at = key.find(" cedex"); at != std::string::npos && digits(key.substr(0, at))) {
        *a.postcode = key.substr(0, at);
        cedex = "Cedex" + key.substr(at + 6);
        if (!a.country) a.country = "FR";
      }
    }
    if (a.postcode && (a.country ? *a.country == "FR" : digits(*a.postcode))) {
      std::string& pc = *a.postcode;
      // "75 001", as some forms write it, is 75001.
      if (pc.size() == 6 && pc[2] == ' ') pc = pc.substr(0, 2) + pc.substr(3);
      bool five_digits = pc.size() == 5 && std::all_of(pc.begin(), pc.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!five_digits) return Error::invalid_argument("address.postcode", "a French postcode has five digits");
      // Départements 01 to 95, overseas 971 to 978 and 984 to 989, Monaco 980: no postcode starts
      // otherwise ("00000", "99999" are fillers).
      std::string_view dept(pc.data(), 2), three(pc.data(), 3);
      bool valid = dept >= "01" && dept <= "95";
      valid = valid || (three >= "971" && three <= "978") || three == "980" || (three >= "984" && three <= "989");
      if (!valid) return Error::invalid_argument("address.postcode", fmt::format("no French postcode starts with {}", dept));
    }
    // The Cedex mention belongs after the town ("Paris Cedex 08").
    if (cedex && a.city && text::search_key(*a.city).find("cedex") == std::string::npos) *a.city += " " + *cedex;
    else if (cedex && !a.city) a.city = *cedex;
    if (a.city) a.city = normalize_name(*a.city);
  }
  if (in.household) {
    if (in.household->size() > 20) return Error::invalid_argument("household", "at most 20 members");
    for (size_t i = 0; i < in.household->size(); ++i) {
      auto& m = (*in.household)[i];
      std::optional<std::string> rel = m.relation;
      FIDELIS_RETURN_IF_ERROR(check_text(rel, fmt::format("household[{}].relation", i), 30));
      if (!rel) return Error::invalid_argument(fmt::format("household[{}].relation", i), "is required");
      m.relation = text::to_lower(*rel);
      FIDELIS_RETURN_IF_ERROR(check_text(m.first_name, fmt::format("household[{}].first_name", i), 100));
      // A file's cell lists members as relation:first name:birth date, '|' between them.
      if (m.relation.find_first_of(":|") != std::string::npos)
        return Error::invalid_argument(fmt::format("household[{}].relation", i), "cannot contain ':' or '|' (they separate members in files)");
      if (m.first_name && m.first_name->find_first_of(":|") != std::string::npos)
        return Error::invalid_argument(fmt::format("household[{}].first_name", i), "cannot contain ':' or '|' (they separate members in files)");
      if (m.first_name) m.first_name = normalize_name(*m.first_name);
      FIDELIS_RETURN_IF_ERROR(check_birth_date(m.birth_date, fmt::format("household[{}].birth_date", i), now));
    }
  }
  if (in.affinities) {
    if (in.affinities->size() > 100) return Error::invalid_argument("affinities", "at most 100 categories");
    std::set<std::string> seen;
    for (size_t i = 0; i < in.affinities->size(); ++i) {
      auto& a = (*in.affinities)[i];
      std::optional<std::string> cat = a.category;
      FIDELIS_RETURN_IF_ERROR(check_text(cat, fmt::format("affinities[{}].category", i), 60));
      if (!cat) return Error::invalid_argument(fmt::format("affinities[{}].category", i), "is required");
      a.category = text::to_lower(*cat);
      // A file's cell lists categories as category:strength, '|' between them.
      if (a.category.find('|') != std::string::npos)
        return Error::invalid_argument(fmt::format("affinities[{}].category", i), "cannot contain '|' (it separates categories in files)");
      if (!seen.insert(a.category).second)
        return Error::invalid_argument(fmt::format("affinities[{}].category", i), "appears twice");
      if (a.strength < 0 || a.strength > 100)
        return Error::invalid_argument(fmt::format("affinities[{}].strength", i), "must be between 0 and 100");
    }
  }
  if (in.consents) {
    std::set<std::pair<Channel, Purpose>> seen;
    for (size_t i = 0; i < in.consents->size(); ++i) {
      auto& c = (*in.consents)[i];
      if (!seen.insert({c.channel, c.purpose}).second)
        return Error::invalid_argument(fmt::format("consents[{}]", i), "the same channel and purpose appear twice");
      std::optional<std::string> src = c.source;
      FIDELIS_RETURN_IF_ERROR(check_text(src, fmt::format("consents[{}].source", i), 50));
      c.source = src.value_or("api");
      if (c.source_at && *c.source_at > now)
        return Error::invalid_argument(fmt::format("consents[{}].source_at", i), "is in the future");
    }
  }
  if (in.tags) {
    if (in.tags->size() > 100) return Error::invalid_argument("tags", "at most 100 tags");
    std::vector<std::string> tags;
    for (size_t i = 0; i < in.tags->size(); ++i) {
      std::optional<std::string> t = (*in.tags)[i];
      FIDELIS_RETURN_IF_ERROR(check_text(t, fmt::format("tags[{}]", i), 50));
      if (!t) return Error::invalid_argument(fmt::format("tags[{}]", i), "is empty");
      // A file's tag cell lists its tags with these between them: a tag holding one would come back
      // from an export as two.
      if (t->find_first_of(",;|") != std::string::npos)
        return Error::invalid_argument(fmt::format("tags[{}]", i), "cannot contain ',', ';' or '|' (they separate tags in files)");
      if (std::any_of(t->begin(), t->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }))
        return Error::invalid_argument(fmt::format("tags[{}]", i), "cannot contain a tab, a line break or another control character");
      tags.push_back(text::to_lower(*t));
    }
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    in.tags = std::move(tags);
  }
  if (in.external_ids) {
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < in.external_ids->size(); ++i) {
      auto& x = (*in.external_ids)[i];
      std::optional<std::string> src = x.source, id = x.id;
      FIDELIS_RETURN_IF_ERROR(check_text(src, fmt::format("external_ids[{}].source", i), 50));
      FIDELIS_RETURN_IF_ERROR(check_text(id, fmt::format("external_ids[{}].id", i), 100));
      if (!src || !id) return Error::invalid_argument(fmt::format("external_ids[{}]", i), "needs a source and an id");
      x = ExternalId{text::to_lower(*src), *id};
      if (!seen.insert({x.source, x.id}).second)
        return Error::invalid_argument(fmt::format("external_ids[{}]", i), "appears twice");
    }
  }
  if (in.custom_fields) {
    for (auto& [key, value] : *in.custom_fields) {
      std::string field = "custom_fields." + key;
      auto def = std::find_if(defs.begin(), defs.end(), [&](const CustomFieldDef& d) { return d.key == key; });
      if (def == defs.end()) return Error::invalid_argument(field, "no custom field has this key; define it first");
      if (!value) continue;
      CustomValue& v = *value;
      switch (def->type) {
        case CustomFieldType::kText:
          if (!std::holds_alternative<std::string>(v)) return Error::invalid_argument(field, "expected text");
          if (!text::is_valid_utf8(std::get<std::string>(v))) return Error::invalid_argument(field, "is not valid UTF-8");
          // Trimmed as names are (spaces, no-break spaces), so an export read back finds it equal;
          // nothing left is no value.
          if (std::string t(text::trim(std::get<std::string>(v))); t.empty()) {
            value.reset();
            continue;
          } else {
            v = std::move(t);
          }
          if (text::utf8_length(std::get<std::string>(v)) > 1000)
            return Error::invalid_argument(field, "is longer than 1000 characters");
          break;
        case CustomFieldType::kInteger:
          if (!std::holds_alternative<int64_t>(v)) return Error::invalid_argument(field, "expected an integer");
          break;
        case CustomFieldType::kNumber:
          if (std::holds_alternative<int64_t>(v)) v = static_cast<double>(std::get<int64_t>(v));
          if (!std::holds_alternative<double>(v)) return Error::invalid_argument(field, "expected a number");
          break;
        case CustomFieldType::kBoolean:
          if (!std::holds_alternative<bool>(v)) return Error::invalid_argument(field, "expected true or false");
          break;
        case CustomFieldType::kDate:
          if (!std::holds_alternative<std::string>(v)) return Error::invalid_argument(field, "expected a date YYYY-MM-DD");
          FIDELIS_RETURN_IF_ERROR(parse_date(std::get<std::string>(v), field));
          break;
        case CustomFieldType::kChoice: {
          // Case and accents aside ("OR" is the choice "or"), stored as the choice is written.
          auto* s = std::get_if<std::string>(&v);
          auto choice = s == nullptr ? def->choices.end()
                                     : std::find_if(def->choices.begin(), def->choices.end(), [&](const std::string& c) {
                                         return text::search_key(c) == text::search_key(*s);
                                       });
          if (choice == def->choices.end())
            return Error::invalid_argument(field, "expected one of: " + fmt::format("{}", fmt::join(def->choices, ", ")));
          *s = *choice;
          break;
        }
      }
    }
  }
  return ok();
}

Status validate_custom_field_def(CustomFieldDef& def) {
  const std::string& k = def.key;
  bool key_ok = !k.empty() && k.size() <= 40 && k[0] >= 'a' && k[0] <= 'z' &&
                std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
  if (!key_ok) return Error::invalid_argument("key", "expected 1 to 40 of a-z, 0-9 and _, starting with a letter");
  // Exports head a column with each key, beside the profile's own: those names are taken.
  static constexpr std::string_view kTaken[] = {
      "id",       "civility", "first_name", "last_name", "full_name",    "email",        "other_emails", "phone",
      "other_phones", "birth_date", "street", "street2",  "postcode",     "city",         "country",      "tags",
      "external_id", "external_ids", "customer_id", "created_at", "updated_at", "deleted_at", "ignore", "version",
      "emails",   "phones",   "address",    "household", "affinities",   "consents",     "custom_fields"};
  if (std::find(std::begin(kTaken), std::end(kTaken), k) != std::end(kTaken))
    return Error::invalid_argument("key", fmt::format("'{}' is a field of every profile (and a column of exports): choose "
                                                      "another key",
                                                      k));
  std::optional<std::string> label = def.label;
  FIDELIS_RETURN_IF_ERROR(check_text(label, "label", 100));
  def.label = label.value_or(def.key);
  if (def.type == CustomFieldType::kChoice) {
    if (def.choices.empty() || def.choices.size() > 100)
      return Error::invalid_argument("choices", "a choice field needs 1 to 100 choices");
    // Values are matched to choices whatever their case and accents: two choices equal once those
    // are set aside could not be told apart, and an empty one is no choice.
    for (size_t i = 0; i < def.choices.size(); ++i) {
      std::string field = fmt::format("choices[{}]", i);
      std::optional<std::string> choice = def.choices[i];
      FIDELIS_RETURN_IF_ERROR(check_text(choice, field, 100));
      if (!choice) return Error::invalid_argument(field, "is empty");
      def.choices[i] = *choice;
      for (size_t j = 0; j < i; ++j)
        if (text::search_key(def.choices[j]) == text::search_key(*choice))
          return Error::invalid_argument(field, fmt::format("is the same choice as choices[{}] ('{}') once case and "
                                                            "accents are set aside",
                                                            j, def.choices[j]));
    }
  } else if (!def.choices.empty()) {
    return Error::invalid_argument("choices", "only a choice field has choices");
  }
  return ok();
}

bool drop_invalid_value(CustomerInput& in, const std::string& field) {
  auto index = [&](std::string_view prefix) -> std::optional<size_t> {
    if (!field.starts_with(prefix)) return std::nullopt;
    return static_cast<size_t>(std::strtoul(field.c_str() + prefix.size(), nullptr, 10));
  };
  if (field == "birth_date") return in.birth_date.reset(), true;
  if (field == "civility") return in.civility.reset(), true;
  if (field == "first_name") return in.first_name.reset(), true;
  if (field == "last_name") return in.last_name.reset(), true;
  if (in.address) {
    if (field == "address.postcode") return in.address->postcode.reset(), true;
    if (field == "address.country") return in.address->country.reset(), true;
    if (field == "address.city") return in.address->city.reset(), true;
    if (field == "address.street") return in.address->street.reset(), true;
    if (field == "address.street2") return in.address->street2.reset(), true;
  }
  // A bad label costs the label, not the address or the number.
  const bool label = field.ends_with(".label");
  if (auto i = index("emails["); i && in.emails && *i < in.emails->size())
    return label ? (*in.emails)[*i].label.clear() : (void)in.emails->erase(in.emails->begin() + static_cast<long>(*i)), true;
  if (auto i = index("phones["); i && in.phones && *i < in.phones->size())
    return label ? (*in.phones)[*i].label.clear() : (void)in.phones->erase(in.phones->begin() + static_cast<long>(*i)), true;
  if (auto i = index("tags["); i && in.tags && *i < in.tags->size())
    return in.tags->erase(in.tags->begin() + static_cast<long>(*i)), true;
  if (auto i = index("external_ids["); i && in.external_ids && *i < in.external_ids->size())
    return in.external_ids->erase(in.external_ids->begin() + static_cast<long>(*i)), true;
  if (auto i = index("household["); i && in.household && *i < in.household->size())
    return in.household->erase(in.household->begin() + static_cast<long>(*i)), true;
  if (auto i = index("affinities["); i && in.affinities && *i < in.affinities->size())
    return in.affinities->erase(in.affinities->begin() + static_cast<long>(*i)), true;
  if (field == "household" && in.household) return in.household->resize(20), true;
  if (field == "affinities" && in.affinities) return in.affinities->resize(100), true;
  if (field.starts_with("custom_fields.") && in.custom_fields) return in.custom_fields->erase(field.substr(14)) > 0;
  if ((field == "emails" && in.emails) || (field == "phones" && in.phones) || (field == "tags" && in.tags)) {
    if (field == "emails") in.emails->resize(10);
    if (field == "phones") in.phones->resize(10);
    if (field == "tags") in.tags->resize(100);
    return true;
  }
  return false;
}

}  // namespace fidelis::customers
