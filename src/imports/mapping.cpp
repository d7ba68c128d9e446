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

constexpr Name kFieldNames[] = {{"ignore", Target::kIgnore},         {"civility", Target::kCivility},
                                {"first_name", Target::kFirstName},  {"last_name", Target::kLastName},
                                {"full_name", Target::kFullName},    {"email", Target::kEmail},
                                {"phone", Target::kPhone},           {"birth_date", Target::kBirthDate},
                                {"street", Target::kStreet},         {"street2", Target::kStreet2},
                                {"postcode", Target::kPostcode},     {"city", Target::kCity},
                                {"country", Target::kCountry},       {"external_id", Target::kExternalId},
                                {"tags", Target::kTags},             {"deleted_at", Target::kDeletedAt},
                                {"external_ids", Target::kExternalIds}, {"customer_id", Target::kCustomerId}};

// Header names as people write them, compared after key_of (lower-case, no accents, punctuation
// as spaces).
constexpr Name kGuesses[] = {
    {"civilite", Target::kCivility}, {"civ", Target::kCivility}, {"titre", Target::kCivility},
    {"title", Target::kCivility}, {"salutation", Target::kCivility}, {"civility", Target::kCivility},
    {"gender", Target::kCivility},
    {"prenom", Target::kFirstName}, {"first name", Target::kFirstName}, {"firstname", Target::kFirstName},
    {"given name", Target::kFirstName},
    {"nom", Target::kLastName}, {"nom de famille", Target::kLastName}, {"last name", Target::kLastName},
    {"lastname", Target::kLastName}, {"surname", Target::kLastName}, {"family name", Target::kLastName},
    {"nom client", Target::kLastName}, {"nom de naissance", Target::kLastName},
    {"name", Target::kFullName}, {"full name", Target::kFullName}, {"fullname", Target::kFullName},
    {"nom complet", Target::kFullName}, {"nom et prenom", Target::kFullName}, {"nom prenom", Target::kFullName},
    {"prenom nom", Target::kFullName}, {"prenom et nom", Target::kFullName}, {"customer name", Target::kFullName},
    {"contact name", Target::kFullName}, {"display name", Target::kFullName}, {"nom du client", Target::kFullName},
    {"e mail", Target::kEmail}, {"email", Target::kEmail}, {"courriel", Target::kEmail}, {"mail", Target::kEmail},
    {"adresse e mail", Target::kEmail}, {"adresse email", Target::kEmail}, {"adresse mail", Target::kEmail},
    {"adresse courriel", Target::kEmail}, {"email address", Target::kEmail}, {"e mail address", Target::kEmail},
    {"telephone", Target::kPhone}, {"tel", Target::kPhone}, {"portable", Target::kPhone}, {"mobile", Target::kPhone},
    {"phone", Target::kPhone}, {"gsm", Target::kPhone}, {"cell", Target::kPhone}, {"fixe", Target::kPhone},
    {"numero de telephone", Target::kPhone}, {"phone number", Target::kPhone}, {"numero", Target::kPhone},
    {"date de naissance", Target::kBirthDate}, {"naissance", Target::kBirthDate}, {"ne le", Target::kBirthDate},
    {"date naissance", Target::kBirthDate}, {"birth date", Target::kBirthDate}, {"birthdate", Target::kBirthDate},
    {"date of birth", Target::kBirthDate}, {"dob", Target::kBirthDate}, {"birthday", Target::kBirthDate},
    {"anniversaire", Target::kBirthDate}, {"date d anniversaire", Target::kBirthDate}, {"date naiss", Target::kBirthDate},
    {"ne e le", Target::kBirthDate}, {"nee le", Target::kBirthDate},
    {"adresse", Target::kStreet}, {"rue", Target::kStreet}, {"adresse 1", Target::kStreet}, {"adresse1", Target::kStreet},
    {"address", Target::kStreet}, {"street", Target::kStreet}, {"address line 1", Target::kStreet},
    {"address 1", Target::kStreet}, {"address1", Target::kStreet}, {"street address", Target::kStreet},
    {"street 1", Target::kStreet}, {"adresse ligne 1", Target::kStreet}, {"adresse postale", Target::kStreet},
    {"adresse 2", Target::kStreet2}, {"adresse2", Target::kStreet2}, {"complement d adresse", Target::kStreet2},
    {"address line 2", Target::kStreet2}, {"address 2", Target::kStreet2}, {"address2", Target::kStreet2},
    {"street address 2", Target::kStreet2}, {"adresse ligne 2", Target::kStreet2}, {"complement", Target::kStreet2},
    {"street2", Target::kStreet2}, {"street 2", Target::kStreet2},
    {"code postal", Target::kPostcode}, {"cp", Target::kPostcode}, {"postcode", Target::kPostcode},
    {"zip", Target::kPostcode}, {"zip code", Target::kPostcode}, {"postal code", Target::kPostcode},
    {"zipcode", Target::kPostcode}, {"zip postal code", Target::kPostcode}, {"postal", Target::kPostcode},
    {"ville", Target::kCity}, {"commune", Target::kCity}, {"city", Target::kCity}, {"town", Target::kCity},
    {"localite", Target::kCity},
    {"pays", Target::kCountry}, {"country", Target::kCountry}, {"country code", Target::kCountry},
    {"code pays", Target::kCountry}, {"country region", Target::kCountry},
    {"id", Target::kExternalId}, {"identifiant", Target::kExternalId}, {"id client", Target::kExternalId},
    {"numero client", Target::kExternalId}, {"code client", Target::kExternalId}, {"ref client", Target::kExternalId},
    {"reference client", Target::kExternalId}, {"customer id", Target::kExternalId}, {"client id", Target::kExternalId},
    {"n client", Target::kExternalId}, {"external id", Target::kExternalId}, {"customer number", Target::kExternalId},
    {"tags", Target::kTags}, {"etiquettes", Target::kTags}, {"segments", Target::kTags},
    {"newsletter", Target::kConsent}, {"optin", Target::kConsent}, {"opt in", Target::kConsent},
    {"optin newsletter", Target::kConsent}, {"inscrit newsletter", Target::kConsent},
    {"abonne newsletter", Target::kConsent}, {"accepte newsletter", Target::kConsent},
    {"accepts email marketing", Target::kConsent}, {"accepts marketing", Target::kConsent},
    // The columns of Fidelis's own export, so that an export imports back as it was.
    {"other emails", Target::kEmail}, {"other phones", Target::kPhone}, {"autres emails", Target::kEmail},
    {"autres e mails", Target::kEmail}, {"autres telephones", Target::kPhone}, {"deleted at", Target::kDeletedAt},
    {"supprime le", Target::kDeletedAt}, {"date de suppression", Target::kDeletedAt},
    {"external ids", Target::kExternalIds}, {"identifiants externes", Target::kExternalIds},
};

// Words in front of a field's name that say whose or which it is: "Default Address Zip" (Shopify),
// "billing_postcode" (WooCommerce), "Mobile Phone", "Home Phone" (Outlook, Google). A column named
// with a rank-1 or rank-2 prefix gives way to a plainer one filling the same single-valued field.
struct Prefix {
  std::string_view words;
  int rank;
};
constexpr Prefix kPrefixes[] = {
    {"default address", 1}, {"billing address", 1}, {"billing", 1}, {"facturation", 1}, {"adresse de facturation", 1},
    {"customer", 1},        {"contact", 1},         {"primary", 0},  {"main", 0},        {"principal", 0},
    {"mobile", 0},          {"home", 0},            {"work", 0},     {"business", 0},    {"cell", 0},
    {"personal", 0},        {"private", 0},         {"perso", 0},    {"pro", 0},         {"domicile", 0},
    {"bureau", 0},          {"travail", 0},         {"shipping address", 2}, {"shipping", 2}, {"livraison", 2},
    {"adresse de livraison", 2}};

// Words after a phone's or an e-mail's name saying which one it is ("Téléphone portable", "E-mail 2
// Address", "Tel. fixe").
constexpr std::string_view kSuffixes[] = {"address", "portable", "mobile", "fixe", "perso", "pro", "domicile",
                                          "bureau", "travail", "personnel", "professionnel", "number"};

// Words that make an e-mail or phone column a secondary one.
constexpr std::string_view kSecondaryWords[] = {"other", "others", "autre", "autres", "secondary", "secondaire",
                                                "alternative", "alt", "2", "3", "4", "5"};

std::string key_of(std::string_view header) {
  // search_key keeps the characters of e-mail addresses; headers want none of them.
  std::string raw = text::search_key(header);
  for (char& c : raw)
    if (c == '.' || c == '_' || c == '@' || c == '+' || c == '(' || c == ')' || c == '/') c = ' ';
  return text::search_key(raw);
}

std::vector<std::string_view> words_of(std::string_view key) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < key.size()) {
    size_t end = std::min(key.find(' ', i), key.size());
    out.push_back(key.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

std::optional<Target> exact(std::string_view key) {
  for (const auto& g : kGuesses)
    if (g.name == key) return g.target;
  return std::nullopt;
}

struct Guess {
  Target target = Target::kIgnore;
  int rank = 0;
  bool secondary = false;
};

bool multi_valued(Target t) {
  return t == Target::kEmail || t == Target::kPhone || t == Target::kTags || t == Target::kExternalIds;
}

std::optional<Guess> guess(std::string_view header) {
  const std::string key = key_of(header);
  std::optional<Guess> g;
  if (auto t = exact(key)) {
    g = Guess{*t, 0, false};
  } else {
    for (const Prefix& p : kPrefixes) {
      if (!key.starts_with(p.words) || key.size() <= p.words.size() || key[p.words.size()] != ' ') continue;
      if (auto t = exact(key.substr(p.words.size() + 1))) {
        g = Guess{*t, p.rank, false};
        break;
      }
    }
  }
  if (!g) {
    // "E-mail 2 Address", "Téléphone portable", "Phone 2": an e-mail or phone name, then which one.
    std::vector<std::string_view> words = words_of(key);
    for (size_t n = words.size(); n > 0 && !g; --n) {
      std::string head;
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) head += ' ';
        head.append(words[i]);
      }
      auto t = exact(head);
      if (!t || (*t != Target::kEmail && *t != Target::kPhone)) continue;
      bool rest_known = true;
      for (size_t i = n; i < words.size(); ++i)
        rest_known = rest_known && (std::find(std::begin(kSuffixes), std::end(kSuffixes), words[i]) != std::end(kSuffixes) ||
                                    std::find(std::begin(kSecondaryWords), std::end(kSecondaryWords), words[i]) !=
                                        std::end(kSecondaryWords) ||
                                    words[i] == "1");
      if (rest_known) g = Guess{*t, 0, false};
    }
  }
  if (!g) return std::nullopt;
  if (multi_valued(g->target)) {
    for (std::string_view w : words_of(key))
      if (std::find(std::begin(kSecondaryWords), std::end(kSecondaryWords), w) != std::end(kSecondaryWords))
        g->secondary = true;
    if (g->rank > 0) g->secondary = true;
  }
  return g;
}

bool single_valued(Target t) { return t != Target::kIgnore && !multi_valued(t); }

bool identifies(Target t) {
  return t == Target::kFirstName || t == Target::kLastName || t == Target::kFullName || t == Target::kEmail ||
         t == Target::kPhone;
}

// "consent:CHANNEL:PURPOSE" (any case): "channel:purpose" when both are known.
std::optional<std::string> consent_header(std::string_view header) {
  std::string h = text::to_lower_ascii(text::trim(header));
  if (!h.starts_with("consent:")) return std::nullopt;
  std::string_view rest = std::string_view(h).substr(8);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto ch = customers::parse_channel(rest.substr(0, colon), "header");
  auto pu = customers::parse_purpose(rest.substr(colon + 1), "header");
  if (!ch || !pu) return std::nullopt;
  return fmt::format("{}:{}", customers::channel_name(*ch), customers::purpose_name(*pu));
}

std::string target_label(const Column& c) { return c.target == Target::kCustom ? c.custom_key : std::string(target_name(c.target)); }

// The header `wanted` names: itself, else the one header equal to it whatever its case, accents and
// their encoding (NFC or NFD). InvalidArgument ("mapping") when none is, or several are.
Result<size_t> find_header(std::span<const std::string> header, const std::string& wanted) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == wanted) return i;
  std::optional<size_t> found;
  const std::string key = text::search_key(wanted);
  for (size_t i = 0; i < header.size(); ++i) {
    if (text::search_key(header[i]) != key) continue;
    if (found)
      return Error::invalid_argument("mapping", fmt::format("\"{}\" matches the columns \"{}\" and \"{}\": write the "
                                                            "header exactly as in the file",
                                                            wanted, header[*found], header[i]));
    found = i;
  }
  if (!found) return Error::invalid_argument("mapping", fmt::format("the file has no column \"{}\"", wanted));
  return *found;
}

}  // namespace

std::string_view target_name(Target t) {
  for (const auto& n : kFieldNames)
    if (n.target == t) return n.name;
  return t == Target::kConsent ? "consent" : "custom";
}

Result<std::vector<Column>> map_columns(std::span<const std::string> header,
                                        const std::map<std::string, std::string>& explicit_mapping,
                                        const std::vector<customers::CustomFieldDef>& custom_fields) {
  // Which column each mapping entry names.
  std::map<size_t, std::pair<std::string, std::string>> mapped;  // column -> (mapping key, field)
  for (const auto& [h, field] : explicit_mapping) {
    FIDELIS_ASSIGN_OR_RETURN(size_t i, find_header(header, h));
    if (mapped.contains(i))
      return Error::invalid_argument("mapping", fmt::format("\"{}\" and \"{}\" name the same column", mapped[i].first, h));
    mapped[i] = {h, field};
  }
  std::vector<Column> out;
  std::vector<int> ranks;
  for (size_t col = 0; col < header.size(); ++col) {
    const std::string& raw = header[col];
    Column c;
    c.header = std::string(text::trim(raw));
    int rank = 0;
    auto it = mapped.find(col);
    if (it != mapped.end()) {
      const auto& [key, wanted] = it->second;
      std::string field = "mapping." + key;
      auto named = std::find_if(std::begin(kFieldNames), std::end(kFieldNames), [&](const Name& n) { return n.name == wanted; });
      if (named != std::end(kFieldNames)) {
        c.target = named->target;
      } else if (std::string_view f = wanted; f.starts_with("consent:")) {
        // consent:CHANNEL:PURPOSE, as questionnaires name consents.
        std::string_view rest = f.substr(8);
        size_t colon = rest.find(':');
        if (colon == std::string_view::npos)
          return Error::invalid_argument(field, "expected consent:CHANNEL:PURPOSE, e.g. consent:email:newsletter");
        FIDELIS_ASSIGN_OR_RETURN(customers::Channel ch, customers::parse_channel(rest.substr(0, colon), field));
        FIDELIS_ASSIGN_OR_RETURN(customers::Purpose pu, customers::parse_purpose(rest.substr(colon + 1), field));
        c.target = Target::kConsent;
        c.custom_key = fmt::format("{}:{}", customers::channel_name(ch), customers::purpose_name(pu));
      } else if (std::any_of(custom_fields.begin(), custom_fields.end(),
                             [&](const customers::CustomFieldDef& d) { return d.key == wanted; })) {
        c.target = Target::kCustom;
        c.custom_key = wanted;
      } else {
        return Error::invalid_argument(field, fmt::format("unknown field \"{}\"", wanted));
      }
    } else if (!explicit_mapping.empty()) {
      // A mapping says which columns to read: the others are ignored, not guessed.
    } else if (std::optional<std::string> consent = consent_header(c.header)) {
      // "consent:email:newsletter", as exports head their consent columns.
      c.target = Target::kConsent;
      c.custom_key = *consent;
    } else if (auto g = guess(c.header)) {
      c.target = g->target;
      c.secondary = g->secondary;
      rank = g->rank;
      if (c.target == Target::kConsent) {
        // The consent columns files carry: e-mail newsletters, or Shopify's SMS marketing.
        const std::string key = key_of(c.header);
        c.custom_key = key.find("sms") != std::string::npos ? "sms:offers" : "email:newsletter";
      }
    } else if (std::string key = key_of(c.header); key == "accepts sms marketing" || key == "optin sms" || key == "opt in sms") {
      c.target = Target::kConsent;
      c.custom_key = "sms:offers";
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
    ranks.push_back(rank);
  }
  // One column per single-valued field: a guessed column gives way to a plainer one (rank), two of
  // one rank are for a person to choose between.
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = i + 1; j < out.size(); ++j) {
      if (!single_valued(out[i].target) || out[i].target != out[j].target || out[i].custom_key != out[j].custom_key)
        continue;
      if (explicit_mapping.empty() && ranks[i] != ranks[j]) {
        out[ranks[i] < ranks[j] ? j : i].target = Target::kIgnore;
        continue;
      }
      return Error::invalid_argument(
          explicit_mapping.empty() ? "header" : "mapping",
          fmt::format("columns \"{}\" and \"{}\" both map to {}; map one of them to \"ignore\"", out[i].header,
                      out[j].header, target_label(out[i])));
    }
  // Rows must be able to make customers: something must name or reach the person.
  if (std::none_of(out.begin(), out.end(), [](const Column& c) { return identifies(c.target); })) {
    if (!explicit_mapping.empty())
      return Error::invalid_argument("mapping", "names no column as a name, an e-mail or a phone: no row could make a customer");
    auto data = std::find_if(header.begin(), header.end(), [](const std::string& h) { return h.find('@') != std::string::npos; });
    if (data != header.end())
      return Error::invalid_argument(
          "header", fmt::format("the first line holds an e-mail address (\"{}\"): the file seems to have no header row; "
                                "add one naming the columns (Nom;Prénom;E-mail...)",
                                *data));
    std::string names;
    for (const std::string& h : header) names += (names.empty() ? "\"" : ", \"") + h + "\"";
    return Error::invalid_argument(
        "header", fmt::format("no column is recognised as a name, an e-mail or a phone (columns {}): does the file start "
                              "with a header row? Give a mapping to say which column is what",
                              names));
  }
  return out;
}

Status settle_date_orders(const std::string& path, std::span<Column> columns,
                          const std::vector<customers::CustomFieldDef>& custom_fields) {
  auto is_date = [&](const Column& c) {
    if (c.target == Target::kBirthDate) return true;
    if (c.target != Target::kCustom) return false;
    return std::any_of(custom_fields.begin(), custom_fields.end(), [&](const customers::CustomFieldDef& d) {
      return d.key == c.custom_key && d.type == customers::CustomFieldType::kDate;
    });
  };
  if (std::none_of(columns.begin(), columns.end(), is_date)) return ok();
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<CsvSource> src, CsvSource::open(path));
  std::vector<int> day_first(columns.size()), month_first(columns.size());
  for (int n = 0; n <= 5000; ++n) {
    auto rec = src->next();
    if (!rec || !*rec) break;  // a file unreadable further is the import's to report
    if (n == 0 || (*rec)->malformed) continue;  // the header, broken records
    const std::vector<std::string>& fields = (*rec)->fields;
    for (size_t i = 0; i < columns.size() && i < fields.size(); ++i) {
      if (!is_date(columns[i])) continue;
      std::optional<DateOrder> o = date_order_of(fields[i]);
      if (o == DateOrder::kDayFirst) ++day_first[i];
      if (o == DateOrder::kMonthFirst) ++month_first[i];
    }
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    columns[i].date_order = month_first[i] > 0 && day_first[i] == 0 ? DateOrder::kMonthFirst : DateOrder::kDayFirst;
    columns[i].mixed_date_order = month_first[i] > 0 && day_first[i] > 0;
  }
  return ok();
}

}  // namespace fidelis::imports
