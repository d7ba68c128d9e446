// Header row -> profile fields: an explicit mapping, else French and English header names.

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/text.h"
#include "imports/imports.h"

namespace fidelis::imports {

namespace {

struct Name {
  std::string_view name;
  Target target;
};

constexpr Name kFieldNames[] = {{"ignore", Target::kIgnore},
                                               {"civility", Target::kCivility},
                                               {"first_name", Target::kFirstName},
                                               {"last_name", Target::kLastName},
                                               {"email", Target::kEmail},
                                               {"phone", Target::kPhone},
                                               {"birth_date", Target::kBirthDate},
                                               {"street", Target::kStreet},
                                               {"street2", Target::kStreet2},
                                               {"postcode", Target::kPostcode},
                                               {"city", Target::kCity},
                                               {"country", Target::kCountry},
                                               {"external_id", Target::kExternalId},
                                               {"tags", Target::kTags}};

// Header names as people write them, compared after text::search_key (lower-case, no accents,
// punctuation as spaces).
constexpr Name kGuesses[] = {
    {"civilite", Target::kCivility}, {"civ", Target::kCivility}, {"titre", Target::kCivility},
    {"title", Target::kCivility}, {"salutation", Target::kCivility},
    {"prenom", Target::kFirstName}, {"first name", Target::kFirstName}, {"firstname", Target::kFirstName},
    {"given name", Target::kFirstName},
    {"nom", Target::kLastName}, {"nom de famille", Target::kLastName}, {"last name", Target::kLastName},
    {"lastname", Target::kLastName}, {"surname", Target::kLastName}, {"family name", Target::kLastName},
    {"nom client", Target::kLastName},
    {"e mail", Target::kEmail}, {"email", Target::kEmail}, {"courriel", Target::kEmail}, {"mail", Target::kEmail},
    {"adresse e mail", Target::kEmail}, {"adresse email", Target::kEmail}, {"adresse mail", Target::kEmail},
    {"email address", Target::kEmail},
    {"telephone", Target::kPhone}, {"tel", Target::kPhone}, {"portable", Target::kPhone}, {"mobile", Target::kPhone},
    {"phone", Target::kPhone}, {"gsm", Target::kPhone}, {"telephone portable", Target::kPhone},
    {"tel portable", Target::kPhone}, {"tel mobile", Target::kPhone}, {"telephone mobile", Target::kPhone},
    {"telephone fixe", Target::kPhone}, {"tel fixe", Target::kPhone}, {"numero de telephone", Target::kPhone},
    {"phone number", Target::kPhone},
    {"date de naissance", Target::kBirthDate}, {"naissance", Target::kBirthDate}, {"ne le", Target::kBirthDate},
    {"date naissance", Target::kBirthDate}, {"birth date", Target::kBirthDate}, {"birthdate", Target::kBirthDate},
    {"date of birth", Target::kBirthDate}, {"dob", Target::kBirthDate},
    {"adresse", Target::kStreet}, {"rue", Target::kStreet}, {"adresse 1", Target::kStreet},
    {"address", Target::kStreet}, {"street", Target::kStreet}, {"address line 1", Target::kStreet},
    {"adresse 2", Target::kStreet2}, {"complement d adresse", Target::kStreet2}, {"address line 2", Target::kStreet2},
    {"code postal", Target::kPostcode}, {"cp", Target::kPostcode}, {"postcode", Target::kPostcode},
    {"zip", Target::kPostcode}, {"zip code", Target::kPostcode}, {"postal code", Target::kPostcode},
    {"ville", Target::kCity}, {"commune", Target::kCity}, {"city", Target::kCity},
    {"town", Target::kCity}, {"localite", Target::kCity}, {"pays", Target::kCountry}, {"country", Target::kCountry},
    {"id", Target::kExternalId}, {"identifiant", Target::kExternalId}, {"id client", Target::kExternalId},
    {"numero client", Target::kExternalId}, {"tags", Target::kTags}, {"code client", Target::kExternalId},
    {"ref client", Target::kExternalId}, {"reference client", Target::kExternalId}, {"customer id", Target::kExternalId},
    {"client id", Target::kExternalId}, {"n client", Target::kExternalId}, {"etiquettes", Target::kTags},
    {"segments", Target::kTags}, {"civility", Target::kCivility}, {"street2", Target::kStreet2},
    {"street 2", Target::kStreet2}, {"external id", Target::kExternalId}, {"birthday", Target::kBirthDate},
    {"newsletter", Target::kConsent}, {"optin", Target::kConsent}, {"opt in", Target::kConsent},
    {"optin newsletter", Target::kConsent}, {"inscrit newsletter", Target::kConsent},
    {"abonne newsletter", Target::kConsent}, {"accepte newsletter", Target::kConsent},
    // The columns of Fidelis's own export, so that an export imports back as it was.
    {"other emails", Target::kEmail}, {"other phones", Target::kPhone}, {"autres emails", Target::kEmail},
    {"autres e mails", Target::kEmail}, {"autres telephones", Target::kPhone}, {"date naiss", Target::kBirthDate},
    {"mail 2", Target::kEmail}, {"email 2", Target::kEmail}, {"e mail 2", Target::kEmail}, {"autre email", Target::kEmail},
    {"autre e mail", Target::kEmail}, {"telephone 2", Target::kPhone}, {"tel 2", Target::kPhone},
    {"ne e le", Target::kBirthDate}, {"nee le", Target::kBirthDate},
};

std::optional<Target> guess(std::string_view header) {
  // search_key keeps the characters of e-mail addresses; headers want none of them.
  std::string raw = text::search_key(header);
  for (char& c : raw)
    if (c == '.' || c == '_' || c == '@' || c == '+' || c == '(' || c == ')') c = ' ';
  std::string key = text::search_key(raw);
  for (const auto& g : kGuesses)
    if (g.name == key) return g.target;
  return std::nullopt;
}

bool single_valued(Target t) { return t != Target::kIgnore && t != Target::kEmail && t != Target::kPhone && t != Target::kTags; }

}  // namespace

std::string_view target_name(Target t) {
  for (const auto& n : kFieldNames)
    if (n.target == t) return n.name;
  return t == Target::kConsent ? "consent" : "custom";
}

Result<std::vector<Column>> map_columns(std::span<const std::string> header,
                                        const std::map<std::string, std::string>& explicit_mapping,
                                        const std::vector<customers::CustomFieldDef>& custom_fields) {
  for (const auto& [h, field] : explicit_mapping)
    if (std::find(header.begin(), header.end(), h) == header.end())
      return Error::invalid_argument("mapping", fmt::format("the file has no column \"{}\"", h));
  std::vector<Column> out;
  for (const std::string& raw : header) {
    Column c;
    c.header = std::string(text::trim(raw));
    auto it = explicit_mapping.find(raw);
    if (it != explicit_mapping.end()) {
      auto named = std::find_if(std::begin(kFieldNames), std::end(kFieldNames), [&](const Name& n) { return n.name == it->second; });
      if (named != std::end(kFieldNames)) {
        c.target = named->target;
      } else if (std::string_view f = it->second; f.starts_with("consent:")) {
        // consent:CHANNEL:PURPOSE, as questionnaires name consents.
        std::string_view rest = f.substr(8);
        size_t colon = rest.find(':');
        std::string field = "mapping." + raw;
        if (colon == std::string_view::npos)
          return Error::invalid_argument(field, "expected consent:CHANNEL:PURPOSE, e.g. consent:email:newsletter");
        FIDELIS_ASSIGN_OR_RETURN(customers::Channel ch, customers::parse_channel(rest.substr(0, colon), field));
        FIDELIS_ASSIGN_OR_RETURN(customers::Purpose pu, customers::parse_purpose(rest.substr(colon + 1), field));
        c.target = Target::kConsent;
        c.custom_key = fmt::format("{}:{}", customers::channel_name(ch), customers::purpose_name(pu));
      } else if (std::any_of(custom_fields.begin(), custom_fields.end(),
                             [&](const customers::CustomFieldDef& d) { return d.key == it->second; })) {
        c.target = Target::kCustom;
        c.custom_key = it->second;
      } else {
        return Error::invalid_argument("mapping." + raw, fmt::format("unknown field \"{}\"", it->second));
      }
    } else if (!explicit_mapping.empty()) {
      // A mapping says which columns to read: the others are ignored, not guessed.
    } else if (auto g = guess(c.header)) {
      c.target = *g;
      if (c.target == Target::kConsent) c.custom_key = "email:newsletter";  // the consent columns files carry
    } else {
      // A header that is a custom field's key maps to it.
      auto def = std::find_if(custom_fields.begin(), custom_fields.end(),
                              [&](const customers::CustomFieldDef& d) { return d.key == text::search_key(c.header); });
      if (def != custom_fields.end()) {
        c.target = Target::kCustom;
        c.custom_key = def->key;
      }
    }
    out.push_back(std::move(c));
  }
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = i + 1; j < out.size(); ++j)
      if (single_valued(out[i].target) && out[i].target == out[j].target && out[i].custom_key == out[j].custom_key)
        return Error::invalid_argument(
            "header", fmt::format("columns \"{}\" and \"{}\" both map to {}; map one of them to \"ignore\"", out[i].header,
                                  out[j].header, out[i].target == Target::kCustom ? out[i].custom_key : target_name(out[i].target)));
  return out;
}

}  // namespace fidelis::imports
