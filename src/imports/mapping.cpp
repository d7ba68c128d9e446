// Header row -> profile fields: an explicit mapping, else French and English header names.

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/text.h"
#include "imports/imports.h"
#include "imports/imports_internal.h"

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
                                {"external_ids", Target::kExternalIds}, {"customer_id", Target::kCustomerId},
                                {"is_company", Target::kIsCompany},  {"household", Target::kHousehold},
                                {"affinities", Target::kAffinities}};

// Header names as people write them, compared after key_of (lower-case, no accents, punctuation
// as spaces). `rank` breaks ties between two names of one field: "Country Code" before "Country",
// "Street" before Outlook's formatted "Address" block.
struct Guessed {
  std::string_view name;
  Target target;
  int rank = 0;
};
constexpr Guessed kGuesses[] = {
    {"civilite", Target::kCivility}, {"civ", Target::kCivility}, {"titre", Target::kCivility},
    {"title", Target::kCivility}, {"salutation", Target::kCivility}, {"civility", Target::kCivility},
    {"name prefix", Target::kCivility},
    {"prenom", Target::kFirstName}, {"first name", Target::kFirstName}, {"firstname", Target::kFirstName},
    {"given name", Target::kFirstName}, {"prenoms", Target::kFirstName},
    {"nom", Target::kLastName}, {"nom de famille", Target::kLastName}, {"last name", Target::kLastName},
    {"lastname", Target::kLastName}, {"surname", Target::kLastName}, {"family name", Target::kLastName},
    {"nom client", Target::kLastName}, {"nom de naissance", Target::kLastName, 2}, {"nom d usage", Target::kLastName, 1},
    {"name", Target::kFullName}, {"full name", Target::kFullName}, {"fullname", Target::kFullName},
    {"nom complet", Target::kFullName}, {"nom et prenom", Target::kFullName}, {"nom prenom", Target::kFullName},
    {"prenom nom", Target::kFullName}, {"prenom et nom", Target::kFullName}, {"customer name", Target::kFullName},
    {"contact name", Target::kFullName}, {"display name", Target::kFullName}, {"nom du client", Target::kFullName},
    {"e mail", Target::kEmail}, {"email", Target::kEmail}, {"courriel", Target::kEmail}, {"mail", Target::kEmail},
    {"adresse e mail", Target::kEmail}, {"adresse email", Target::kEmail}, {"adresse mail", Target::kEmail},
    {"adresse courriel", Target::kEmail}, {"email address", Target::kEmail}, {"e mail address", Target::kEmail},
    {"adresse electronique", Target::kEmail}, {"adresse de messagerie", Target::kEmail}, {"mel", Target::kEmail},
    // A mobile first: the plain names of a phone often hold the landline ("Téléphone;Portable").
    {"telephone", Target::kPhone, 1}, {"tel", Target::kPhone, 1}, {"portable", Target::kPhone}, {"mobile", Target::kPhone},
    {"phone", Target::kPhone, 1}, {"gsm", Target::kPhone}, {"cell", Target::kPhone}, {"fixe", Target::kPhone, 1},
    {"natel", Target::kPhone},  // Swiss: the mobile
    {"numero de telephone", Target::kPhone, 1}, {"phone number", Target::kPhone, 1}, {"n de telephone", Target::kPhone, 1},
    {"n de tel", Target::kPhone, 1}, {"numero de tel", Target::kPhone, 1}, {"record id", Target::kExternalId},
    // Odoo's contacts: whether each is a company, and its country as a many2one column.
    {"is company", Target::kIsCompany}, {"is a company", Target::kIsCompany}, {"company type", Target::kIsCompany, 1},
    {"est une societe", Target::kIsCompany}, {"country id", Target::kCountry},
    // Brevo's contact attributes: "WHATSAPP" and "LANDLINE_NUMBER" (its "SMS", the mobile, is
    // read when its values are numbers: settle_columns).
    {"whatsapp", Target::kPhone, 1}, {"landline number", Target::kPhone, 1},
    {"date de naissance", Target::kBirthDate}, {"naissance", Target::kBirthDate}, {"ne le", Target::kBirthDate},
    {"date naissance", Target::kBirthDate}, {"birth date", Target::kBirthDate}, {"birthdate", Target::kBirthDate},
    {"date of birth", Target::kBirthDate}, {"dob", Target::kBirthDate}, {"birthday", Target::kBirthDate},
    {"anniversaire", Target::kBirthDate}, {"date d anniversaire", Target::kBirthDate},
    {"date anniversaire", Target::kBirthDate}, {"jour anniversaire", Target::kBirthDate},
    {"jour d anniversaire", Target::kBirthDate}, {"anniv", Target::kBirthDate}, {"date anniv", Target::kBirthDate}, {"date naiss", Target::kBirthDate},
    {"ne e le", Target::kBirthDate}, {"nee le", Target::kBirthDate},
    {"adresse", Target::kStreet}, {"rue", Target::kStreet}, {"adresse 1", Target::kStreet}, {"adresse1", Target::kStreet},
    {"address", Target::kStreet, 1}, {"street", Target::kStreet}, {"address line 1", Target::kStreet},
    {"address 1", Target::kStreet}, {"address1", Target::kStreet}, {"street address", Target::kStreet},
    {"street 1", Target::kStreet}, {"adresse ligne 1", Target::kStreet}, {"adresse postale", Target::kStreet},
    {"adresse 2", Target::kStreet2}, {"adresse2", Target::kStreet2}, {"complement d adresse", Target::kStreet2},
    {"address line 2", Target::kStreet2}, {"address 2", Target::kStreet2}, {"address2", Target::kStreet2},
    {"street address 2", Target::kStreet2}, {"adresse ligne 2", Target::kStreet2}, {"complement", Target::kStreet2},
    {"street2", Target::kStreet2}, {"street 2", Target::kStreet2}, {"extended address", Target::kStreet2},
    {"code postal", Target::kPostcode}, {"cp", Target::kPostcode}, {"c p", Target::kPostcode},
    {"postcode", Target::kPostcode}, {"zip", Target::kPostcode}, {"zip code", Target::kPostcode},
    {"postal code", Target::kPostcode}, {"zipcode", Target::kPostcode}, {"zip postal code", Target::kPostcode},
    {"postal", Target::kPostcode}, {"npa", Target::kPostcode}, {"numero postal", Target::kPostcode},  // Swiss
    {"ville", Target::kCity}, {"commune", Target::kCity}, {"city", Target::kCity}, {"town", Target::kCity},
    {"localite", Target::kCity}, {"lieu", Target::kCity},  // Swiss and Belgian
    {"pays", Target::kCountry, 1}, {"country", Target::kCountry, 1}, {"country code", Target::kCountry},
    {"code pays", Target::kCountry}, {"country region", Target::kCountry, 1}, {"pays region", Target::kCountry, 1},
    {"pays de residence", Target::kCountry, 1},
    {"id", Target::kExternalId}, {"identifiant", Target::kExternalId}, {"id client", Target::kExternalId},
    {"numero client", Target::kExternalId}, {"code client", Target::kExternalId}, {"ref client", Target::kExternalId},
    {"reference client", Target::kExternalId}, {"customer id", Target::kExternalId}, {"client id", Target::kExternalId},
    {"n client", Target::kExternalId}, {"external id", Target::kExternalId}, {"customer number", Target::kExternalId},
    {"numero de client", Target::kExternalId},
    {"tags", Target::kTags}, {"etiquettes", Target::kTags}, {"segments", Target::kTags},
    {"household", Target::kHousehold},  // the export's; a shop's "Foyer" may hold anything (a head count)
    {"affinities", Target::kAffinities}, {"affinites", Target::kAffinities}, {"appetences", Target::kAffinities},
    {"appetences rayons", Target::kAffinities},
    {"newsletter", Target::kConsent}, {"optin", Target::kConsent}, {"opt in", Target::kConsent},
    {"optin newsletter", Target::kConsent}, {"inscrit newsletter", Target::kConsent},
    {"abonne newsletter", Target::kConsent}, {"accepte newsletter", Target::kConsent},
    {"accepts email marketing", Target::kConsent}, {"accepts marketing", Target::kConsent},
    {"optin email", Target::kConsent}, {"opt in email", Target::kConsent}, {"opt in e mail", Target::kConsent},
    {"optin e mail", Target::kConsent}, {"accepte la newsletter", Target::kConsent}, {"consentement email", Target::kConsent},
    {"consentement e mail", Target::kConsent}, {"consentement newsletter", Target::kConsent},
    // The columns of Fidelis's own export, so that an export imports back as it was.
    {"other emails", Target::kEmail, 1}, {"other phones", Target::kPhone, 1}, {"autres emails", Target::kEmail, 1},
    {"autres e mails", Target::kEmail, 1}, {"autres telephones", Target::kPhone, 1}, {"deleted at", Target::kDeletedAt},
    {"supprime le", Target::kDeletedAt}, {"date de suppression", Target::kDeletedAt},
    {"external ids", Target::kExternalIds}, {"identifiants externes", Target::kExternalIds},
};

// Words around a field's name that say whose or which it is ("Home Street", "billing_postcode",
// "Default Address Zip", "Rue (domicile)", "E-mail 2 Address", "Téléphone portable"), with the rank
// they give: between two columns of one field, the lower rank is the main one. Filler words (rank
// 0) only join them to the name ("Adresse de facturation ...", "N° de téléphone").
struct Qualifier {
  std::string_view word;
  int rank;
};
constexpr Qualifier kQualifiers[] = {
    // the main one
    {"principal", 0}, {"principale", 0}, {"primary", 0}, {"main", 0}, {"mobile", 0}, {"cell", 0}, {"portable", 0},
    {"gsm", 0}, {"natel", 0}, {"courant", 0}, {"value", 0},
    // fillers and format hints
    {"address", 0}, {"adresse", 0}, {"de", 0}, {"d", 0}, {"du", 0}, {"des", 0}, {"la", 0}, {"le", 0}, {"l", 0},
    {"s", 0}, {"n", 0}, {"no", 0}, {"number", 0}, {"numero", 0}, {"jj", 0}, {"mm", 0}, {"aaaa", 0}, {"aa", 0},
    {"line", 0}, {"ligne", 0},
    {"dd", 0}, {"yyyy", 0}, {"yy", 0}, {"oui", 0}, {"non", 0}, {"yes", 0}, {"o", 0}, {"y", 0}, {"x", 0},
    // the person's own
    {"home", 1}, {"domicile", 1}, {"perso", 1}, {"personal", 1}, {"personnel", 1}, {"personnelle", 1},
    {"private", 1}, {"prive", 1}, {"privee", 1}, {"fixe", 1},
    // an account's: the customer's, as a shop bills them
    {"default", 2}, {"billing", 2}, {"facturation", 2}, {"customer", 2}, {"client", 2}, {"contact", 2},
    // work
    {"business", 3}, {"work", 3}, {"bureau", 3}, {"travail", 3}, {"pro", 3}, {"professionnel", 3},
    {"professionnelle", 3}, {"office", 3}, {"entreprise", 3},
    // where parcels go
    {"shipping", 4}, {"livraison", 4}, {"delivery", 4},
    // any other
    {"other", 5}, {"others", 5}, {"autre", 5}, {"autres", 5}, {"secondary", 5}, {"secondaire", 5},
    {"alternative", 5}, {"alt", 5}};

std::string key_of(std::string_view header) {
  // search_key keeps the characters of e-mail addresses; headers want none of them.
  std::string raw = text::search_key(header);
  for (char& c : raw)
    if (c == '.' || c == '_' || c == '@' || c == '+' || c == '(' || c == ')' || c == '/' || c == '[' || c == ']') c = ' ';
  return text::search_key(raw);
}

std::vector<std::string_view> words_of(std::string_view key) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < key.size()) {
    size_t end = std::min(key.find(' ', i), key.size());
    if (end > i) out.push_back(key.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

const Guessed* exact(std::string_view key) {
  for (const auto& g : kGuesses)
    if (g.name == key) return &g;
  return nullptr;
}

// The rank a word around a field's name gives (a number: 1 is the main one, 2 and more others),
// or nullopt when the word says something else (then the header is not that field's).
std::optional<int> qualifier_rank(std::string_view word) {
  if (!word.empty() && std::all_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return word == "1" || word == "0" ? 0 : 5;
  for (const Qualifier& q : kQualifiers)
    if (q.word == word) return q.rank;
  return std::nullopt;
}

struct Guess {
  Target target = Target::kIgnore;
  int rank = 0;  // 2 * the qualifiers' rank + the name's own
};

bool multi_valued(Target t) {
  return t == Target::kEmail || t == Target::kPhone || t == Target::kTags || t == Target::kExternalIds ||
         t == Target::kHousehold || t == Target::kAffinities;
}

// Google Contacts' "E-mail 1 - Value", "Phone 2 - Value", "Address 1 - Postal Code": a field, its
// number, then which part of it (kIgnore for a part not read: a type, a formatted address).
// nullopt when the header is not of that form.
std::optional<Guess> google_contacts(std::span<const std::string_view> words) {
  size_t n = 0;
  while (n < words.size() && !std::all_of(words[n].begin(), words[n].end(), [](char c) { return c >= '0' && c <= '9'; })) ++n;
  if (n == 0 || n + 1 >= words.size()) return std::nullopt;
  std::string field, part;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) field += ' ';
    field.append(words[i]);
  }
  for (size_t i = n + 1; i < words.size(); ++i) {
    if (i > n + 1) part += ' ';
    part.append(words[i]);
  }
  const int rank = words[n] == "1" ? 0 : 10;
  const Guessed* head = exact(field);
  if (!head) return std::nullopt;
  if (head->target == Target::kEmail || head->target == Target::kPhone) {
    if (part == "value") return Guess{head->target, rank};
    if (part == "type" || part == "label") return Guess{Target::kLabel, 0};
    return std::nullopt;
  }
  if (field != "address") return std::nullopt;
  static constexpr std::pair<std::string_view, Target> kParts[] = {
      {"street", Target::kStreet},     {"extended address", Target::kStreet2}, {"city", Target::kCity},
      {"postal code", Target::kPostcode}, {"country", Target::kCountry}};
  for (const auto& [name, target] : kParts)
    if (part == name) return Guess{target, rank};
  return Guess{Target::kIgnore, 0};  // formatted, region, PO box, type: not read
}

std::optional<Guess> guess(std::string_view header) {
  const std::string key = key_of(header);
  std::vector<std::string_view> words = words_of(key);
  if (words.empty()) return std::nullopt;
  if (std::optional<Guess> google = google_contacts(words)) {
    if (google->target == Target::kIgnore) return std::nullopt;
    return google;
  }
  // The longest run of words that names a field, every word around it a qualifier.
  std::optional<Guess> best;
  size_t best_length = 0;
  for (size_t from = 0; from < words.size(); ++from) {
    std::string name;
    for (size_t to = from; to < words.size(); ++to) {
      if (to > from) name += ' ';
      name.append(words[to]);
      const Guessed* g = exact(name);
      if (g == nullptr || to + 1 - from <= best_length) continue;
      int rank = 0, words_rank = 0;  // with and without the numbers
      bool qualified = true, numbered = false, mobile = false;
      for (size_t i = 0; i < words.size() && qualified; ++i) {
        if (i >= from && i <= to) continue;
        std::optional<int> r = qualifier_rank(words[i]);
        qualified = r.has_value();
        if (!r) break;
        mobile = mobile || words[i] == "mobile" || words[i] == "cell" || words[i] == "portable" || words[i] == "gsm" ||
                 words[i] == "natel";
        rank = std::max(rank, *r);
        bool number = std::all_of(words[i].begin(), words[i].end(), [](char c) { return c >= '0' && c <= '9'; });
        if (number && *r > 0) numbered = true;
        if (!number) words_rank = std::max(words_rank, *r);
      }
      if (!qualified) continue;
      // A street line numbered 2 or more ("Rue (domicile) 2", "Adresse 3") is the street's next
      // line, of the same address.
      if (g->target == Target::kStreet && numbered) best = Guess{Target::kStreet2, 2 * words_rank + g->rank};
      // A mobile comes before the plain phone names, which often hold the landline ("Mobile Phone
      // Number" before "Phone Number", "Téléphone portable" before "Téléphone").
      else if (g->target == Target::kPhone && mobile) best = Guess{g->target, 2 * rank};
      else best = Guess{g->target, 2 * rank + g->rank};
      best_length = to + 1 - from;
    }
  }
  return best;
}

// Street lines after the first are joined, in column order: several columns may fill street2.
bool single_valued(Target t) {
  return t != Target::kIgnore && t != Target::kStreet2 && t != Target::kLabel && t != Target::kOptOut &&
         t != Target::kConsentDate && !multi_valued(t);
}

// The opt-out columns marketing tools export: Brevo's "EMAIL_BLACKLISTED" and "SMS_BLACKLISTED",
// Mailchimp's "UNSUB_TIME", "Unsubscribed", "Désinscrit", "Opt-out": the channel they close.
std::optional<std::string> opt_out_guess(const std::string& key) {
  static constexpr std::string_view kEmail[] = {
      "email blacklisted", "blacklisted",  "blacklist",      "email blacklist", "unsubscribed",  "email unsubscribed",
      "unsub time",        "unsubscribe date", "unsubscribed at", "date unsubscribed", "desinscrit", "desinscrite",
      "desabonne",         "desabonnee",   "date de desinscription", "desinscription", "opt out",  "optout",
      "email opt out",     "email optout", "opt out email",  "optout email",    "e mail opt out", "has opted out",
      "unsubscribed from all email", "opted out of all email"};  // HubSpot's
  static constexpr std::string_view kSms[] = {"sms blacklisted", "sms blacklist", "sms opt out", "sms optout",
                                              "opt out sms",     "optout sms",    "stop sms",    "sms unsubscribed"};
  if (std::find(std::begin(kEmail), std::end(kEmail), key) != std::end(kEmail)) return "email";
  if (std::find(std::begin(kSms), std::end(kSms), key) != std::end(kSms)) return "sms";
  return std::nullopt;
}

// The columns dating a consent: Mailchimp's "CONFIRM_TIME" (a double opt-in's confirmation) before
// its "OPTIN_TIME", and "Date optin", "Date d'inscription à la newsletter": the e-mail newsletter's.
std::optional<std::pair<std::string, int>> consent_date_guess(const std::string& key) {
  static constexpr std::pair<std::string_view, int> kNewsletter[] = {
      {"confirm time", 0},          {"optin time", 1},           {"opt in time", 1},
      {"optin date", 1},            {"opt in date", 1},          {"date optin", 1},
      {"date opt in", 1},           {"date de l optin", 1},      {"date d optin", 1},
      {"date d inscription newsletter", 1},  {"date d inscription a la newsletter", 1},
      {"date inscription newsletter", 1},    {"newsletter optin date", 1}, {"date consentement newsletter", 1},
      {"date de consentement newsletter", 1}};
  for (const auto& [name, rank] : kNewsletter)
    if (key == name) return std::pair<std::string, int>{"email:newsletter", rank};
  return std::nullopt;
}

bool identifies(Target t) {
  return t == Target::kFirstName || t == Target::kLastName || t == Target::kFullName || t == Target::kEmail ||
         t == Target::kPhone;
}

// A consent spec (read_consent_spec) written as consents are named: "email:newsletter", "sms".
Result<std::string> consent_key(std::string_view spec, const std::string& field, bool channel_alone) {
  FIDELIS_ASSIGN_OR_RETURN(ConsentSpec c, read_consent_spec(spec, field, channel_alone));
  std::string key(customers::channel_name(c.channel));
  if (!c.purpose) return key;
  return key + ":" + std::string(customers::purpose_name(*c.purpose));
}

// "consent:CHANNEL:PURPOSE" (any case): "channel:purpose" when both are known.
std::optional<std::string> consent_header(std::string_view header) {
  std::string h = text::to_lower_ascii(text::trim(header));
  if (!h.starts_with("consent:")) return std::nullopt;
  auto key = consent_key(std::string_view(h).substr(8), "header", false);
  return key ? std::optional<std::string>(*key) : std::nullopt;
}

std::string target_label(const Column& c) { return c.target == Target::kCustom ? c.custom_key : std::string(target_name(c.target)); }

// The header `wanted` names: itself, else the one header equal to it whatever its case, accents and
// their encoding (NFC or NFD). InvalidArgument ("mapping.WANTED") when none is, or several are.
Result<size_t> find_header(std::span<const std::string> header, const std::string& wanted) {
  const std::string field = "mapping." + wanted;
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == wanted) return i;
  std::optional<size_t> found;
  const std::string key = text::search_key(wanted);
  for (size_t i = 0; i < header.size(); ++i) {
    if (text::search_key(header[i]) != key) continue;
    if (found)
      return Error::invalid_argument(field, fmt::format("\"{}\" matches the columns \"{}\" and \"{}\": write the "
                                                            "header exactly as in the file",
                                                            wanted, header[*found], header[i]));
    found = i;
  }
  if (!found) return Error::invalid_argument(field, fmt::format("the file has no column \"{}\"", wanted));
  return *found;
}

}  // namespace

Result<ConsentSpec> read_consent_spec(std::string_view spec, const std::string& field, bool channel_alone) {
  size_t colon = spec.find(':');
  if (colon == std::string_view::npos && !channel_alone)
    return Error::invalid_argument(field, "expected consent:CHANNEL:PURPOSE, e.g. consent:email:newsletter");
  ConsentSpec out;
  FIDELIS_ASSIGN_OR_RETURN(out.channel, customers::parse_channel(spec.substr(0, colon), field));
  if (colon == std::string_view::npos) return out;
  FIDELIS_ASSIGN_OR_RETURN(out.purpose, customers::parse_purpose(spec.substr(colon + 1), field));
  return out;
}

std::string mapped_field(const Column& c) {
  switch (c.target) {
    case Target::kCustom: return c.custom_key;
    case Target::kConsent: return "consent:" + c.custom_key;
    case Target::kOptOut: return "opt_out:" + c.custom_key;
    case Target::kConsentDate: return "consent_at:" + c.custom_key;
    case Target::kLabel: return "label:" + c.custom_key;
    default: return std::string(target_name(c.target));
  }
}

std::string_view target_name(Target t) {
  for (const auto& n : kFieldNames)
    if (n.target == t) return n.name;
  return t == Target::kConsent       ? "consent"
         : t == Target::kLabel       ? "label"
         : t == Target::kOptOut      ? "opt_out"
         : t == Target::kConsentDate ? "consent_at"
                                     : "custom";
}

Result<std::vector<Column>> map_columns(std::span<const std::string> header,
                                        const std::map<std::string, std::string>& explicit_mapping,
                                        const std::vector<customers::CustomFieldDef>& custom_fields) {
  // Which column each mapping entry names.
  std::map<size_t, std::pair<std::string, std::string>> mapped;  // column -> (mapping key, field)
  // "*": "guess" reads the columns the mapping does not name as without a mapping (an export of
  // the base read back: {"id": "customer_id", "*": "guess"}); otherwise they are ignored.
  bool guess_rest = false;
  for (const auto& [h, field] : explicit_mapping) {
    if (h == "*") {
      if (field != "guess")
        return Error::invalid_argument("mapping.*", "expected \"guess\": the columns the mapping does not name are then "
                                                    "read as without a mapping");
      guess_rest = true;
      continue;
    }
    FIDELIS_ASSIGN_OR_RETURN(size_t i, find_header(header, h));
    if (mapped.contains(i))
      return Error::invalid_argument("mapping." + h, fmt::format("\"{}\" and \"{}\" name the same column", mapped[i].first, h));
    mapped[i] = {h, field};
  }
  std::vector<Column> out;
  std::vector<int> ranks;
  // A custom field whose key is the header's search key ("Appétences" for "appetences"): it keeps
  // its column from the guesses that came after it was defined (affinities, consent dates).
  auto loose_custom = [&](const std::string& h) {
    return std::any_of(custom_fields.begin(), custom_fields.end(),
                       [&](const customers::CustomFieldDef& d) { return d.key == text::search_key(h); });
  };
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
      } else if (std::string_view f = wanted; f.starts_with("label:")) {
        // label:HEADER, the labels of the e-mails or phones of column HEADER (checked below).
        Result<size_t> labelled = find_header(header, std::string(f.substr(6)));
        if (!labelled) return Error::invalid_argument(field, labelled.error().message);  // this entry is at fault
        c.target = Target::kLabel;
        c.custom_key = std::string(text::trim(header[*labelled]));
      } else if (std::string_view f = wanted; f.starts_with("consent:")) {
        // consent:CHANNEL:PURPOSE, as questionnaires name consents.
        FIDELIS_ASSIGN_OR_RETURN(c.custom_key, consent_key(f.substr(8), field, false));
        c.target = Target::kConsent;
      } else if (std::string_view f = wanted; f.starts_with("opt_out:")) {
        // opt_out:CHANNEL (its newsletter and offers) or opt_out:CHANNEL:PURPOSE.
        FIDELIS_ASSIGN_OR_RETURN(c.custom_key, consent_key(f.substr(8), field, true));
        c.target = Target::kOptOut;
      } else if (std::string_view f = wanted; f.starts_with("consent_at:")) {
        // consent_at:CHANNEL (its newsletter and offers) or consent_at:CHANNEL:PURPOSE.
        FIDELIS_ASSIGN_OR_RETURN(c.custom_key, consent_key(f.substr(11), field, true));
        c.target = Target::kConsentDate;
      } else if (std::any_of(custom_fields.begin(), custom_fields.end(),
                             [&](const customers::CustomFieldDef& d) { return d.key == wanted; })) {
        c.target = Target::kCustom;
        c.custom_key = wanted;
      } else {
        return Error::invalid_argument(field, fmt::format("unknown field \"{}\"", wanted));
      }
    } else if (!explicit_mapping.empty() && !guess_rest) {
      // A mapping says which columns to read: the others are ignored, not guessed.
    } else if (auto def = std::find_if(custom_fields.begin(), custom_fields.end(),
                                       [&](const customers::CustomFieldDef& d) { return d.key == c.header; });
               def != custom_fields.end()) {
      // A column headed by a custom field's key (as exports head them) is that field, before any
      // guess: "email_pro" is no contact e-mail.
      c.target = Target::kCustom;
      c.custom_key = def->key;
    } else if (std::optional<std::string> consent = consent_header(c.header)) {
      // "consent:email:newsletter", as exports head their consent columns.
      c.target = Target::kConsent;
      c.custom_key = *consent;
    } else if (std::optional<std::string> closed = opt_out_guess(key_of(c.header))) {
      c.target = Target::kOptOut;
      c.custom_key = *closed;
    } else if (auto dated = consent_date_guess(key_of(c.header)); dated && !loose_custom(c.header)) {
      c.target = Target::kConsentDate;
      c.custom_key = dated->first;
      c.rank = dated->second;
    } else if (auto g = guess(c.header); g && !((g->target == Target::kAffinities || g->target == Target::kHousehold) &&
                                                   loose_custom(c.header))) {
      c.target = g->target;
      c.rank = g->rank;
      rank = g->rank;
      if (c.target == Target::kConsent) {
        // The consent columns files carry: e-mail newsletters, or Shopify's SMS marketing.
        const std::string key = key_of(c.header);
        c.custom_key = key.find("sms") != std::string::npos ? "sms:offers" : "email:newsletter";
      }
    } else if (std::string key = key_of(c.header); key == "accepts sms marketing" || key == "optin sms" || key == "opt in sms") {
      c.target = Target::kConsent;
      c.custom_key = "sms:offers";
    } else if (key_of(c.header) == "sms") {
      c.phone_if_numbers = true;  // settle_columns decides
    } else {
      // A header that is a custom field's key maps to it.
      auto def = std::find_if(custom_fields.begin(), custom_fields.end(),
                              [&](const customers::CustomFieldDef& d) { return d.key == text::search_key(c.header); });
      if (def != custom_fields.end()) {
        c.target = Target::kCustom;
        c.custom_key = def->key;
      }
    }
    if (c.target == Target::kFullName) {
      static constexpr std::string_view kSurnameFirst[] = {
          "nom prenom", "nom et prenom", "nom prenoms", "nom et prenoms", "nom prenom client", "nom prenom du client",
          "nom et prenom du client", "last name first name", "surname first name", "surname forename"};
      const std::string key = key_of(c.header);
      c.surname_first = std::find(std::begin(kSurnameFirst), std::end(kSurnameFirst), key) != std::end(kSurnameFirst);
    }
    out.push_back(std::move(c));
    ranks.push_back(rank);
  }
  // A label column ("Phone 1 - Label", or "- Type") labels the values of its field's number
  // ("Phone 1 - Value"); without that column it is not read.
  // A mapping's "label:HEADER" must name a column it maps to e-mails or phones.
  for (size_t i = 0; i < out.size(); ++i) {
    Column& c = out[i];
    if (c.target != Target::kLabel) continue;
    const bool guessed = c.custom_key.empty();
    std::string value_key;
    if (guessed) {
      std::string key = key_of(c.header);
      size_t last = key.rfind(' ');
      value_key = key.substr(0, last == std::string::npos ? 0 : last + 1) + "value";
    }
    auto labelled = std::find_if(out.begin(), out.end(), [&](const Column& v) {
      return (v.target == Target::kEmail || v.target == Target::kPhone) &&
             (guessed ? key_of(v.header) == value_key : v.header == c.custom_key);
    });
    if (labelled != out.end() && !guessed &&
        std::any_of(out.begin(), out.begin() + static_cast<long>(i),
                    [&](const Column& o) { return o.target == Target::kLabel && o.custom_key == labelled->header; })) {
      return Error::invalid_argument("mapping." + mapped[i].first,
                                     fmt::format("another column already labels \"{}\"", labelled->header));
    }
    if (labelled != out.end()) {
      c.custom_key = labelled->header;
    } else if (guessed) {
      c.target = Target::kIgnore;
    } else {
      return Error::invalid_argument("mapping." + mapped[i].first,
                                     fmt::format("\"label:{}\" needs that column mapped to email or phone", c.custom_key));
    }
  }
  // A bare "Optin" beside a newsletter column is PrestaShop's other box, the partners' offers.
  if (explicit_mapping.empty() || guess_rest) {
    auto newsletter = [&](const Column& c) { return c.target == Target::kConsent && c.custom_key == "email:newsletter"; };
    for (Column& c : out) {
      const std::string key = key_of(c.header);
      if (newsletter(c) && (key == "optin" || key == "opt in") &&
          std::count_if(out.begin(), out.end(), newsletter) > 1)
        c.custom_key = "email:offers";
    }
  }
  // Two guessed columns of one single-valued field: the plainer one (lower rank) fills it, the
  // other only when the first is empty in a row; two of one rank are for a person to choose between.
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = i + 1; j < out.size(); ++j) {
      if (!single_valued(out[i].target) || out[i].target != out[j].target || out[i].custom_key != out[j].custom_key)
        continue;
      // Beside guesses, what the mapping names wins: the guessed column is left unread.
      if (guess_rest && mapped.contains(i) != mapped.contains(j)) {
        out[mapped.contains(i) ? j : i].target = Target::kIgnore;
        continue;
      }
      const bool guessed = !mapped.contains(i) && !mapped.contains(j);
      if (guessed && ranks[i] != ranks[j]) continue;
      return Error::invalid_argument(
          guessed ? "header" : "mapping." + (mapped.contains(j) ? mapped[j].first : out[j].header),
          fmt::format("columns \"{}\" and \"{}\" both map to {}; map one of them to \"ignore\"", out[i].header,
                      out[j].header, target_label(out[i])));
    }
  // Rows must be able to make customers: something must name or reach the person.
  if (std::none_of(out.begin(), out.end(), [](const Column& c) { return identifies(c.target); })) {
    if (!explicit_mapping.empty() && !guess_rest)
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

Result<std::vector<std::string>> settle_columns(const std::string& path, std::span<Column> columns,
                                                const std::vector<customers::CustomFieldDef>& custom_fields) {
  auto is_date = [&](const Column& c) {
    if (c.target == Target::kBirthDate || c.target == Target::kOptOut || c.target == Target::kConsentDate) return true;
    if (c.target != Target::kCustom) return false;
    return std::any_of(custom_fields.begin(), custom_fields.end(), [&](const customers::CustomFieldDef& d) {
      return d.key == c.custom_key && d.type == customers::CustomFieldType::kDate;
    });
  };
  // What an unread cell looks like: an e-mail address, or a phone number (9 to 15 digits written
  // with the usual separators).
  auto looks_like_email = [](std::string_view v) {
    size_t at = v.find('@');
    return at != std::string_view::npos && at > 0 && v.find('.', at) != std::string_view::npos && v.find(' ') == std::string_view::npos;
  };
  auto looks_like_phone = [](std::string_view v) {
    size_t digits = 0;
    for (char c : v) {
      if (c >= '0' && c <= '9') ++digits;
      else if (std::string_view(" +.-()/").find(c) == std::string_view::npos) return false;
    }
    return digits >= 9 && digits <= 15;
  };
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<CsvSource> src, CsvSource::open(path));
  std::vector<int> day_first(columns.size()), month_first(columns.size()), filled(columns.size()),
      emails(columns.size()), phones(columns.size()), dates(columns.size()), serials(columns.size());
  for (int n = 0; n <= 5000; ++n) {
    auto rec = src->next();
    if (!rec || !*rec) break;  // a file unreadable further is the import's to report
    if (n == 0 || (*rec)->malformed) continue;  // the header, broken records
    const std::vector<std::string>& fields = (*rec)->fields;
    for (size_t i = 0; i < columns.size() && i < fields.size(); ++i) {
      std::string_view v = text::trim(fields[i]);
      if (v.empty()) continue;
      if (columns[i].target == Target::kIgnore) {
        ++filled[i];
        if (looks_like_email(v)) ++emails[i];
        else if (looks_like_phone(v)) ++phones[i];
      }
      if (!is_date(columns[i])) continue;
      ++dates[i];
      if (date_from_spreadsheet_serial(v)) ++serials[i];
      std::optional<DateOrder> o = date_order_of(v);
      if (o == DateOrder::kDayFirst) ++day_first[i];
      if (o == DateOrder::kMonthFirst) ++month_first[i];
    }
  }
  std::vector<std::string> warnings;
  for (size_t i = 0; i < columns.size(); ++i) {
    columns[i].date_order = month_first[i] > 0 && day_first[i] == 0 ? DateOrder::kMonthFirst : DateOrder::kDayFirst;
    columns[i].mixed_date_order = month_first[i] > 0 && day_first[i] > 0;
    columns[i].day_numbers = serials[i] * 2 > dates[i];  // most of them (none when no date was seen)
    if (columns[i].phone_if_numbers && filled[i] > 0 && phones[i] * 2 > filled[i]) {
      columns[i].target = Target::kPhone;
      continue;
    }
    // Most of its cells: the column is very likely contacts nobody asked to read.
    if (filled[i] >= 3 && emails[i] * 2 > filled[i])
      warnings.push_back(fmt::format("column \"{}\" is not read, but its values look like e-mail addresses: map it to "
                                     "email to read them",
                                     columns[i].header));
    else if (filled[i] >= 3 && phones[i] * 2 > filled[i] && key_of(columns[i].header).find("fax") == std::string::npos)
      warnings.push_back(fmt::format("column \"{}\" is not read, but its values look like phone numbers: map it to "
                                     "phone to read them",
                                     columns[i].header));
  }
  return warnings;
}

}  // namespace fidelis::imports
