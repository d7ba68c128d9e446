// Questionnaires: definitions, signed links, answers applied to the profile, completion rates.

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cerrno>
#include <cmath>
#include <map>
#include <set>

#include "core/text.h"
#include "questionnaires/questionnaires.h"

namespace fidelis::questionnaires {

using storage::Value;
using namespace customers;

namespace {

constexpr std::string_view kTypes[] = {"text", "date", "choice", "multi_choice", "boolean", "children"};

// Length limits of the texts people read, in characters (code points: "é" is one).
constexpr size_t kMaxTitle = 200, kMaxIntro = 2000, kMaxSectionTitle = 200, kMaxLabel = 500, kMaxChoice = 200;

Status check_length(std::string_view s, size_t max, const std::string& field) {
  if (text::utf8_length(s) > max) return Error::invalid_argument(field, fmt::format("is longer than {} characters", max));
  return ok();
}

bool valid_key(std::string_view k, bool dashes) {
  if (k.empty() || k.size() > 40 || !(k[0] >= 'a' && k[0] <= 'z')) return false;
  return std::all_of(k.begin(), k.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (dashes && c == '-');
  });
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += x + "\n";
  return out;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// What each question type may fill, for the sentence that refuses a pair.
std::string_view suited_targets(QuestionType type) {
  switch (type) {
    case QuestionType::kText:
      return "a text question fills a name, e-mail, phone, street, postcode, city, civility, or a text, integer, "
             "number, date or choice custom field";
    case QuestionType::kDate: return "a date question fills birth_date, or a date or text custom field";
    case QuestionType::kChoice: return "a choice question fills civility, or a choice or text custom field";
    case QuestionType::kMultiChoice:
      return "a multi_choice question needs a target that holds several values (affinities); no custom field does";
    case QuestionType::kBoolean: return "a boolean question needs a boolean target: consent:<channel>:<purpose> or a boolean custom field";
    case QuestionType::kChildren: return "a children question fills children";
  }
  return "";
}

// Which question types suit a target: those whose every answer the target can hold. A pair that
// could never be answered (a boolean on an integer field) or that would lose part of an answer (a
// multi_choice on a one-value field) is refused.
Status check_target(const Question& q, const std::vector<CustomFieldDef>& defs, const std::string& field) {
  const std::string& t = q.target;
  auto want = [&](std::initializer_list<QuestionType> ok_types, std::string_view what) -> Status {
    if (std::find(ok_types.begin(), ok_types.end(), q.type) == ok_types.end())
      return Error::invalid_argument(field, fmt::format("cannot fill {}: {}", what, suited_targets(q.type)));
    return ok();
  };
  if (t == "first_name" || t == "last_name" || t == "email" || t == "phone" || t == "street" || t == "postcode" ||
      t == "city")
    return want({QuestionType::kText}, t);
  if (t == "civility") return want({QuestionType::kChoice, QuestionType::kText}, t);
  if (t == "birth_date") return want({QuestionType::kDate}, t);
  if (t == "children") return want({QuestionType::kChildren}, t);
  if (t == "affinities") return want({QuestionType::kMultiChoice}, t);
  if (t.starts_with("consent:")) {
    auto rest = t.substr(8);
    auto colon = rest.find(':');
    if (colon == std::string::npos) return Error::invalid_argument(field, "expected consent:<channel>:<purpose>");
    FIDELIS_RETURN_IF_ERROR(parse_channel(rest.substr(0, colon), field));
    FIDELIS_RETURN_IF_ERROR(parse_purpose(rest.substr(colon + 1), field));
    return want({QuestionType::kBoolean}, t);
  }
  if (t.starts_with("custom_fields.")) {
    std::string key = t.substr(14);
    auto def = std::find_if(defs.begin(), defs.end(), [&](const CustomFieldDef& d) { return d.key == key; });
    if (def == defs.end()) return Error::invalid_argument(field, "no custom field " + key);
    std::string what = fmt::format("{} (a{} {} field)", t, def->type == CustomFieldType::kInteger ? "n" : "",
                                   custom_field_type_name(def->type));
    // Text is read as the field's type (a whole number, a number, a date written YYYY-MM-DD, one of
    // the field's choices); choices are checked against the field when the question is defined.
    switch (def->type) {
      case CustomFieldType::kText: return want({QuestionType::kText, QuestionType::kDate, QuestionType::kChoice}, what);
      case CustomFieldType::kInteger:
      case CustomFieldType::kNumber: return want({QuestionType::kText}, what);
      case CustomFieldType::kBoolean: return want({QuestionType::kBoolean}, what);
      case CustomFieldType::kDate: return want({QuestionType::kDate, QuestionType::kText}, what);
      case CustomFieldType::kChoice: return want({QuestionType::kChoice, QuestionType::kText}, what);
    }
  }
  return Error::invalid_argument(field, "unknown target '" + t + "'");
}

std::string answer_text(const AnswerValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
    std::string out;
    for (const auto& x : *l) out += (out.empty() ? "" : ", ") + x;
    return out;
  }
  const auto& kids = std::get<std::vector<Child>>(v);
  std::string out;
  for (const auto& k : kids) {
    if (!out.empty()) out += "; ";
    std::string one = k.first_name.value_or("");
    if (k.birth_date) one += (one.empty() ? "" : " ") + *k.birth_date;
    out += one.empty() ? "?" : one;
  }
  return out;
}

// Folds one answer into the profile change `in`, starting from the current profile `cur`.
Status apply(const Question& q, const AnswerValue& v, const Customer& cur, CustomerInput& in,
             const std::vector<CustomFieldDef>& defs, Millis now, const std::string& field) {
  auto text_value = [&]() -> Result<std::string> {
    const auto* s = std::get_if<std::string>(&v);
    if (s == nullptr) return Error::invalid_argument(field, "expected text");
    return std::string(text::trim(*s));
  };
  const std::string& t = q.target;
  if (q.type == QuestionType::kChoice || q.type == QuestionType::kMultiChoice) {
    std::vector<std::string> picked;
    if (const auto* s = std::get_if<std::string>(&v)) picked.push_back(*s);
    else if (const auto* l = std::get_if<std::vector<std::string>>(&v)) picked = *l;
    else return Error::invalid_argument(field, "expected one of the choices");
    if (q.type == QuestionType::kChoice && picked.size() != 1) return Error::invalid_argument(field, "expected one choice");
    // Case, accents and spaces aside ("mme" is the choice "Mme"), taken as the choice is written.
    for (auto& p : picked) {
      auto choice = std::find_if(q.choices.begin(), q.choices.end(),
                                 [&](const std::string& c) { return text::search_key(c) == text::search_key(p); });
      if (choice == q.choices.end()) return Error::invalid_argument(field, "'" + p + "' is not one of the choices");
      p = *choice;
    }
    if (t == "affinities") {
      // Categories are stored lower-case; choices are compared the same way.
      auto offered = [&](const std::string& category) {
        return std::any_of(q.choices.begin(), q.choices.end(), [&](const std::string& c) { return text::to_lower(c) == category; });
      };
      std::vector<Affinity> aff;
      for (const auto& a : in.affinities ? *in.affinities : cur.affinities)
        if (!offered(text::to_lower(a.category))) aff.push_back(a);
      std::set<std::string> seen;
      for (const auto& p : picked) {
        std::string category = text::to_lower(p);
        if (!seen.insert(category).second) continue;
        auto old = std::find_if(cur.affinities.begin(), cur.affinities.end(), [&](const Affinity& a) { return a.category == category; });
        aff.push_back({category, old != cur.affinities.end() ? std::max(old->strength, 70) : 70});  // declared interest
      }
      in.affinities = aff;
      return ok();
    }
    if (t == "civility") {
      in.civility = picked[0];
      return ok();
    }
    if (t.starts_with("custom_fields.")) {
      if (!in.custom_fields) in.custom_fields.emplace();
      (*in.custom_fields)[t.substr(14)] = CustomValue(picked[0]);
      return ok();
    }
    return Error::invalid_argument(field, "this question cannot be answered by a choice");
  }
  if (q.type == QuestionType::kBoolean) {
    const auto* b = std::get_if<bool>(&v);
    if (b == nullptr) return Error::invalid_argument(field, "expected true or false");
    if (t.starts_with("consent:")) {
      auto rest = t.substr(8);
      auto colon = rest.find(':');
      Consent c{*parse_channel(rest.substr(0, colon), field), *parse_purpose(rest.substr(colon + 1), field), *b,
                "questionnaire", now};
      if (!in.consents) in.consents.emplace();
      in.consents->push_back(c);
      return ok();
    }
    if (!in.custom_fields) in.custom_fields.emplace();
    (*in.custom_fields)[t.substr(14)] = CustomValue(*b);
    return ok();
  }
  if (q.type == QuestionType::kChildren) {
    const auto* kids = std::get_if<std::vector<Child>>(&v);
    const auto* empty = std::get_if<std::vector<std::string>>(&v);  // [] parses as an empty list
    static const std::vector<Child> kNone;
    if (kids == nullptr && empty != nullptr && empty->empty()) kids = &kNone;
    if (kids == nullptr) return Error::invalid_argument(field, "expected a list of children");
    std::vector<HouseholdMember> members;
    for (const auto& m : cur.household)
      if (m.relation != "enfant") members.push_back(m);
    auto given = [](const std::optional<std::string>& v) -> std::optional<std::string> {
      if (!v || text::trim(*v).empty()) return std::nullopt;
      return std::string(text::trim(*v));
    };
    // Every child is checked: the person corrects each wrong one at once.
    std::vector<Error> wrong;
    for (size_t i = 0; i < kids->size(); ++i) {
      std::string kf = fmt::format("{}[{}]", field, i);
      Status st = [&]() -> Status {
        std::optional<std::string> name = given((*kids)[i].first_name), birth = given((*kids)[i].birth_date);
        if (!name && !birth) return Error::invalid_argument(kf, "a child needs a first name or a birth date");
        if (name && text::has_control_character(*name))
          return Error::invalid_argument(kf + ".first_name",
                                         "cannot contain a line break, a tab or another control or invisible character");
        if (birth) {
          FIDELIS_ASSIGN_OR_RETURN(Date d, parse_date_flexible(*birth, kf + ".birth_date", now, DateOrder::kDayFirst,
                                                               Year::kOptional));
          birth = d.to_string();
          // "Léo, 2 mai" for a Léo born on 2015-05-02: the year stays.
          for (const auto& m : cur.household)
            if (m.relation == "enfant" && name && m.first_name && text::search_key(*m.first_name) == text::search_key(*name))
              birth = with_birth_year(birth, m.birth_date);
        }
        members.push_back({"enfant", name, birth});
        return ok();
      }();
      if (!st) wrong.push_back(st.error());
    }
    if (!wrong.empty()) return combined(std::move(wrong));
    in.household = members;
    return ok();
  }
  if (q.type == QuestionType::kDate) {
    FIDELIS_ASSIGN_OR_RETURN(std::string s, text_value());
    // A birthday may be given without its year ("12/05", "--05-12"); a date custom field may not.
    FIDELIS_ASSIGN_OR_RETURN(Date d, parse_date_flexible(s, field, now, DateOrder::kDayFirst,
                                                         t == "birth_date" ? Year::kOptional : Year::kRequired));
    if (t == "birth_date") in.birth_date = with_birth_year(d.to_string(), cur.birth_date);  // "12/05" keeps 1984
    else {
      if (!in.custom_fields) in.custom_fields.emplace();
      (*in.custom_fields)[t.substr(14)] = CustomValue(d.to_string());
    }
    return ok();
  }
  FIDELIS_ASSIGN_OR_RETURN(std::string s, text_value());
  if (s.empty()) return Error::invalid_argument(field, "is empty");
  Address a = in.address ? *in.address : cur.address;
  if (t == "first_name") in.first_name = s;
  else if (t == "last_name") in.last_name = s;
  else if (t == "civility") in.civility = s;
  else if (t == "street") a.street = s, in.address = a;
  else if (t == "postcode") a.postcode = s, in.address = a;
  else if (t == "city") a.city = s, in.address = a;
  // The answer comes first. An address or a number the profile already has (written otherwise:
  // "07.80.28.00.95" for "07 80 28 00 95") keeps its entry as it is, with its label.
  else if (t == "email") {
    auto same = [&](const EmailAddress& e) { return text::to_lower(e.email) == text::to_lower(s); };
    auto known = std::find_if(cur.emails.begin(), cur.emails.end(), same);
    std::vector<EmailAddress> emails{known != cur.emails.end() ? *known : EmailAddress{s, "questionnaire"}};
    for (const auto& e : cur.emails)
      if (!same(e) && !is_placeholder_email(e.email)) emails.push_back(e);  // a stored "noemail@..." goes
    in.emails = emails;
  } else if (t == "phone") {
    Phone given = normalize_phone(s);
    // One number however written, its extension included ("... poste 12" is not "... poste 34").
    auto same = [&](const Phone& p) { return given.e164 ? phone_key(p) == phone_key(given) : p.raw == given.raw; };
    auto known = std::find_if(cur.phones.begin(), cur.phones.end(), same);
    std::vector<Phone> phones{known != cur.phones.end() ? Phone{.raw = known->raw, .label = known->label}
                                                        : Phone{.raw = s, .label = "questionnaire"}};
    for (const auto& p : cur.phones)
      if (!same(p)) phones.push_back(Phone{.raw = p.raw, .label = p.label});
    in.phones = phones;
  } else if (t.starts_with("custom_fields.")) {
    auto def = std::find_if(defs.begin(), defs.end(), [&](const CustomFieldDef& d) { return d.key == t.substr(14); });
    if (!in.custom_fields) in.custom_fields.emplace();
    CustomValue cv = s;
    // Numbers as people type them, as an import reads them: "1 234", "12,5", "1.234,50".
    if (def != defs.end() && def->type == CustomFieldType::kInteger) {
      std::optional<std::string> plain = text::plain_number(s, /*integer=*/true);
      if (!plain) return Error::invalid_argument(field, "expected a whole number (1234, 1 234)");
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(plain->c_str(), &end, 10);
      if (*end != '\0') return Error::invalid_argument(field, "expected a whole number (1234, 1 234)");
      if (errno == ERANGE) return Error::invalid_argument(field, "is too large a number");
      cv = static_cast<int64_t>(n);
    } else if (def != defs.end() && def->type == CustomFieldType::kNumber) {
      std::optional<std::string> plain = text::plain_number(s, /*integer=*/false);
      char* end = nullptr;
      double x = plain ? std::strtod(plain->c_str(), &end) : 0;
      if (!plain || *end != '\0' || !std::isfinite(x))
        return Error::invalid_argument(field, "expected a number (12,5, 1 234,50 or 1234.50)");
      cv = x;
    }
    (*in.custom_fields)[t.substr(14)] = cv;
  }
  return ok();
}

std::string current_value(const Question& q, const Customer& c) {
  const std::string& t = q.target;
  if (t == "first_name") return c.first_name.value_or("");
  if (t == "last_name") return c.last_name.value_or("");
  if (t == "civility") return c.civility.value_or("");
  if (t == "birth_date") return c.birth_date.value_or("");
  if (t == "email") return c.emails.empty() ? "" : c.emails[0].email;
  if (t == "phone") return c.phones.empty() ? "" : c.phones[0].raw;
  if (t == "street") return c.address.street.value_or("");
  if (t == "postcode") return c.address.postcode.value_or("");
  if (t == "city") return c.address.city.value_or("");
  if (t == "affinities") {
    std::vector<std::string> cats;
    for (const auto& choice : q.choices)
      if (std::any_of(c.affinities.begin(), c.affinities.end(), [&](const Affinity& a) { return a.category == text::to_lower(choice); }))
        cats.push_back(choice);
    return answer_text(cats);
  }
  if (t == "children") {
    std::vector<Child> kids;
    for (const auto& m : c.household)
      if (m.relation == "enfant") kids.push_back({m.first_name, m.birth_date});
    return kids.empty() ? "" : answer_text(kids);
  }
  if (t.starts_with("consent:")) {
    for (const auto& k : c.consents)
      if (t == fmt::format("consent:{}:{}", channel_name(k.channel), purpose_name(k.purpose))) return k.granted ? "true" : "false";
    return "";
  }
  if (t.starts_with("custom_fields.")) {
    auto it = c.custom_fields.find(t.substr(14));
    if (it == c.custom_fields.end()) return "";
    return custom_value_text(it->second);
  }
  return "";
}

}  // namespace

std::string_view question_type_name(QuestionType t) { return kTypes[static_cast<size_t>(t)]; }

Result<QuestionType> parse_question_type(std::string_view s, std::string_view field) {
  for (size_t i = 0; i < std::size(kTypes); ++i)
    if (kTypes[i] == s) return static_cast<QuestionType>(i);
  return Error::invalid_argument(std::string(field), "expected text, date, choice, multi_choice, boolean or children");
}

QuestionnaireService::QuestionnaireService(storage::Db& db, const Clock& clock, CustomerService& customers)
    : db_(db), clock_(clock), customers_(customers) {}

Result<Questionnaire> QuestionnaireService::create(Questionnaire q, const audit::Actor& actor) {
  if (!valid_key(q.slug, true)) return Error::invalid_argument("slug", "expected 1 to 40 of a-z, 0-9, '-' and '_'");
  // Texts are kept in NFC: limits count the characters people see ("é" typed e + U+0301 is one).
  q.title = text::to_nfc(text::trim(q.title));
  q.intro = text::to_nfc(q.intro);
  if (q.title.empty() || text::utf8_length(q.title) > kMaxTitle)
    return Error::invalid_argument("title", fmt::format("must be 1 to {} characters", kMaxTitle));
  FIDELIS_RETURN_IF_ERROR(check_length(q.intro, kMaxIntro, "intro"));
  if (q.sections.empty()) return Error::invalid_argument("sections", "needs at least one section");
  Millis now = clock_.now();
  FIDELIS_ASSIGN_OR_RETURN(std::vector<CustomFieldDef> defs, customers_.custom_fields());
  std::set<std::string> keys, section_keys;
  std::map<std::string, std::string> targets;  // each one-value target, and the question filling it
  for (size_t s = 0; s < q.sections.size(); ++s) {
    Section& sec = q.sections[s];
    std::string sf = fmt::format("sections[{}]", s);
    if (!valid_key(sec.key, false)) return Error::invalid_argument(sf + ".key", "expected a-z, 0-9 and _");
    if (!section_keys.insert(sec.key).second) return Error::invalid_argument(sf + ".key", "appears twice");
    sec.title = text::to_nfc(text::trim(sec.title));
    FIDELIS_RETURN_IF_ERROR(check_length(sec.title, kMaxSectionTitle, sf + ".title"));
    if (sec.title.empty()) sec.title = sec.key;
    if (sec.questions.empty()) return Error::invalid_argument(sf + ".questions", "needs at least one question");
    for (size_t i = 0; i < sec.questions.size(); ++i) {
      Question& qq = sec.questions[i];
      std::string f = fmt::format("{}.questions[{}]", sf, i);
      if (!valid_key(qq.key, false)) return Error::invalid_argument(f + ".key", "expected a-z, 0-9 and _");
      if (!keys.insert(qq.key).second) return Error::invalid_argument(f + ".key", "appears twice in the questionnaire");
      qq.label = text::to_nfc(text::trim(qq.label));
      if (qq.label.empty()) return Error::invalid_argument(f + ".label", "is required");
      FIDELIS_RETURN_IF_ERROR(check_length(qq.label, kMaxLabel, f + ".label"));
      if ((qq.type == QuestionType::kChoice || qq.type == QuestionType::kMultiChoice) != !qq.choices.empty())
        return Error::invalid_argument(f + ".choices", "choice questions, and only they, have choices");
      // Answers match choices case, accents and spaces aside: two choices equal that way could not
      // be told apart, and an empty one would take any empty answer. Choices are stored one a line.
      for (size_t c = 0; c < qq.choices.size(); ++c) {
        std::string cf = fmt::format("{}.choices[{}]", f, c);
        std::string& choice = qq.choices[c];
        choice = text::to_nfc(text::trim(choice));
        if (text::search_key(choice).empty()) return Error::invalid_argument(cf, "is empty");
        FIDELIS_RETURN_IF_ERROR(check_length(choice, kMaxChoice, cf));
        if (text::has_control_character(choice))
          return Error::invalid_argument(cf, "cannot contain a tab, a line break or another control or invisible character");
        for (size_t d = 0; d < c; ++d)
          if (text::search_key(qq.choices[d]) == text::search_key(choice))
            return Error::invalid_argument(cf, fmt::format("is the same choice as choices[{}] ('{}') once case and accents are set aside",
                                                           d, qq.choices[d]));
      }
      FIDELIS_RETURN_IF_ERROR(check_target(qq, defs, f + ".target"));
      // A field holding one value filled by two questions: one answer would overwrite the other
      // (and two answers to one consent could not both be recorded). Lists take several: the
      // affinities each question offers, e-mails and phones.
      if (qq.target != "affinities" && qq.target != "email" && qq.target != "phone") {
        auto [at, fresh] = targets.emplace(qq.target, f);
        if (!fresh)
          return Error::invalid_argument(f + ".target", fmt::format("'{}' is already filled by {}: one answer would "
                                                                    "overwrite the other",
                                                                    qq.target, at->second));
      }
      // A choice the target refuses could never be answered: each is tried as an answer.
      for (size_t c = 0; c < qq.choices.size(); ++c) {
        std::string cf = fmt::format("{}.choices[{}]", f, c);
        AnswerValue v = qq.type == QuestionType::kChoice ? AnswerValue(qq.choices[c])
                                                         : AnswerValue(std::vector<std::string>{qq.choices[c]});
        CustomerInput in;
        Status st = apply(qq, v, Customer{}, in, defs, now, cf);
        if (st) st = validate_customer_input(in, defs, now);
        if (!st)
          return Error::invalid_argument(cf, fmt::format("'{}' cannot fill {}: {}", qq.choices[c], qq.target, st.error().message));
      }
    }
  }
  Status st = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {q.slug, q.title, q.intro, now};
    auto id = tx.insert_id("INSERT INTO questionnaires (slug, title, intro, created_at) VALUES ($1, $2, $3, $4)", p);
    if (!id && id.error().code == Code::kAlreadyExists) return Error::already_exists("slug", "a questionnaire has this slug");
    if (!id) return id.error();
    q.id = *id;
    q.created_at = now;
    int64_t position = 0;
    for (const Section& sec : q.sections)
      for (const Question& qq : sec.questions) {
        Value qp[] = {q.id, position++, sec.key, sec.title, qq.key, qq.label, std::string(question_type_name(qq.type)),
                      qq.target, join_lines(qq.choices), int64_t{qq.required}};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "INSERT INTO questionnaire_questions (questionnaire_id, position, section_key, section_title, key, label, type, "
            "target, choices, required) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            qp));
      }
    return audit::record(tx, actor, {"questionnaire.create", "questionnaire", std::to_string(q.id), std::nullopt,
                                     fmt::format(R"({{"slug":"{}"}})", q.slug)},
                         now);
  });
  if (!st) return st.error();
  return q;
}

Result<Questionnaire> QuestionnaireService::get(int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one("SELECT id, slug, title, intro, created_at FROM questionnaires WHERE id = $1", p));
  if (!row) return Error::not_found("id", fmt::format("no questionnaire {}", id));
  Questionnaire q{row->i64(0), row->str(1), row->str(2), row->str(3), {}, row->i64(4)};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows qs,
                           db_.query("SELECT section_key, section_title, key, label, type, target, choices, required FROM "
                                     "questionnaire_questions WHERE questionnaire_id = $1 ORDER BY position",
                                     p));
  for (const auto& r : qs.rows) {
    if (q.sections.empty() || q.sections.back().key != r.str(0)) q.sections.push_back({r.str(0), r.str(1), {}});
    q.sections.back().questions.push_back({r.str(2), r.str(3), parse_question_type(r.str(4), "type").value_or(QuestionType::kText),
                                           r.str(5), split_lines(r.str(6)), r.i64(7) != 0});
  }
  return q;
}

Result<std::vector<Questionnaire>> QuestionnaireService::list() {
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query("SELECT id FROM questionnaires ORDER BY id"));
  std::vector<Questionnaire> out;
  for (const auto& r : rows.rows) {
    FIDELIS_ASSIGN_OR_RETURN(Questionnaire q, get(r.i64(0)));
    out.push_back(std::move(q));
  }
  return out;
}

Result<std::string> QuestionnaireService::secret() {
  // The key never changes once made: read it once per process, and write it only when missing.
  std::lock_guard lock(key_mu_);
  if (!link_key_.empty()) return link_key_;
  if (sodium_init() < 0) return Error::internal("libsodium failed to initialise");
  FIDELIS_ASSIGN_OR_RETURN(std::string raw, storage::secret_setting(db_, "questionnaire_link_key", crypto_auth_KEYBYTES));
  link_key_ = raw;
  return link_key_;
}

Result<std::string> QuestionnaireService::issue_link(int64_t qid, int64_t customer_id, Millis ttl_ms, const audit::Actor& actor) {
  FIDELIS_RETURN_IF_ERROR(get(qid));
  if (auto c = customers_.get(customer_id); !c) {
    // A record merged into another is that customer now: say which, as GET /customers/{id} does;
    // a deleted customer is said to be deleted.
    std::optional<int64_t> into;
    bool deleted = false;
    FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
      FIDELIS_ASSIGN_OR_RETURN(into, customers::survivor(tx, customer_id));
      Value p[] = {customer_id};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT 1 FROM customers WHERE id = $1", p));
      deleted = row.has_value();
      return ok();
    }));
    if (into && *into != customer_id)
      return Error::not_found("customer_id", fmt::format("customer {} was merged into customer {}: issue the link for {}",
                                                         customer_id, *into, *into));
    if (deleted) return Error::not_found("customer_id", fmt::format("customer {} is deleted", customer_id));
    return Error::not_found("customer_id", c.error().message);
  }
  if (ttl_ms <= 0 || ttl_ms > 366LL * 86'400'000) return Error::invalid_argument("ttl_days", "must be 1 to 366 days");
  FIDELIS_ASSIGN_OR_RETURN(std::string key, secret());
  Millis now = clock_.now();
  std::string payload = fmt::format("{}.{}.{}", qid, customer_id, now + ttl_ms);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
              reinterpret_cast<const unsigned char*>(key.data()));
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {qid, customer_id, now};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO questionnaire_links (questionnaire_id, customer_id, issued_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (questionnaire_id, customer_id) DO UPDATE SET issued_at = excluded.issued_at",
        p));
    return audit::record(tx, actor, {"questionnaire.link", "customer", std::to_string(customer_id), std::nullopt,
                                     fmt::format(R"({{"questionnaire":{}}})", qid)},
                         now);
  }));
  return text::base64url_encode(payload) + "." +
         text::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), sizeof mac));
}

Result<Form> QuestionnaireService::open(std::string_view token) {
  auto bad = [] { return Error{Code::kUnauthenticated, "token", "this link is not valid or has expired; ask for a new one"}; };
  auto dot = token.find('.');
  std::string payload, mac;
  if (dot == std::string_view::npos || !text::base64url_decode(token.substr(0, dot), payload) ||
      !text::base64url_decode(token.substr(dot + 1), mac) || mac.size() != crypto_auth_BYTES)
    return bad();
  FIDELIS_ASSIGN_OR_RETURN(std::string key, secret());
  if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(mac.data()), reinterpret_cast<const unsigned char*>(payload.data()),
                         payload.size(), reinterpret_cast<const unsigned char*>(key.data())) != 0)
    return bad();
  long long qid = 0, cid = 0, exp = 0;
  if (std::sscanf(payload.c_str(), "%lld.%lld.%lld", &qid, &cid, &exp) != 3) return bad();
  if (exp <= clock_.now()) return bad();
  Form f;
  FIDELIS_ASSIGN_OR_RETURN(f.questionnaire, get(qid));
  // A link sent before its customer was merged into another answers for the one that remains.
  std::optional<int64_t> live;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(live, survivor(tx, cid));
    return ok();
  }));
  if (!live) return bad();
  cid = *live;
  auto c = customers_.get(cid);
  if (!c) return bad();
  f.customer_id = cid;
  f.expires_at = exp;
  for (const auto& s : f.questionnaire.sections)
    for (const auto& q : s.questions) f.current.emplace_back(q.key, current_value(q, *c));
  Value p[] = {int64_t{qid}, int64_t{cid}};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows done, db_.query("SELECT question_key FROM questionnaire_answers WHERE "
                                                         "questionnaire_id = $1 AND customer_id = $2 ORDER BY question_key",
                                                         p));
  for (const auto& r : done.rows) f.answered.push_back(r.str(0));
  return f;
}

Result<Form> QuestionnaireService::answer(std::string_view token, const std::vector<Answer>& answers,
                                          const audit::Actor& request) {
  FIDELIS_ASSIGN_OR_RETURN(Form form, open(token));
  if (answers.empty()) return Error::invalid_argument("answers", "no answer given");
  FIDELIS_ASSIGN_OR_RETURN(std::vector<CustomFieldDef> defs, customers_.custom_fields());
  Millis now = clock_.now();
  audit::Actor actor{"public", std::nullopt, "questionnaire:" + form.questionnaire.slug, request.ip, request.request_id};
  // Changed meanwhile (another answer of the same customer, say): redone on fresh data.
  auto changed_meanwhile = [](const Result<Customer>& r) {
    return !r && (r.error().code == Code::kFailedPrecondition || r.error().code == Code::kConflict);
  };
  for (int attempt = 0; attempt < 8; ++attempt) {
    FIDELIS_ASSIGN_OR_RETURN(Customer cur, customers_.get(form.customer_id));
    CustomerInput in;
    // Each answer is checked: the person corrects every wrong one at once.
    std::vector<Error> wrong;
    for (const Answer& a : answers) {
      std::string field = "answers." + a.question_key;
      Status st = [&]() -> Status {
        const Question* q = nullptr;
        for (const auto& s : form.questionnaire.sections)
          for (const auto& qq : s.questions)
            if (qq.key == a.question_key) q = &qq;
        if (q == nullptr) return Error::invalid_argument(field, "no such question");
        if (const auto* s = std::get_if<std::string>(&a.value); s != nullptr && text::has_control_character(*s))
          return Error::invalid_argument(field, "cannot contain a line break, a tab or another control or invisible character");
        // This answer's effect alone is validated first, so a bad value names its question.
        CustomerInput alone;
        FIDELIS_RETURN_IF_ERROR(apply(*q, a.value, cur, alone, defs, now, field));
        if (Status valid = validate_customer_input(alone, defs, now); !valid) {
          // A child's field names the child as the answer lists it ("answers.enfants[1].first_name"):
          // the household the answer makes holds the other members first.
          const std::string& bad = valid.error().field;
          if (q->type == QuestionType::kChildren && bad.starts_with("household[")) {
            const auto others = std::count_if(cur.household.begin(), cur.household.end(),
                                              [](const HouseholdMember& m) { return m.relation != "enfant"; });
            const long at = std::strtol(bad.c_str() + 10, nullptr, 10) - others;
            const size_t close = bad.find(']');
            if (at >= 0 && close != std::string::npos)
              return Error::invalid_argument(fmt::format("{}[{}]{}", field, at, bad.substr(close + 1)), valid.error().message);
          }
          return Error::invalid_argument(field, valid.error().message);
        }
        // The person is there to correct it: a number that is no phone number is refused.
        if (q->target == "phone" && alone.phones && !alone.phones->empty() && !alone.phones->front().valid)
          return Error::invalid_argument(field, alone.phones->front().placeholder ? "a number typed for none, not a phone number"
                                                                                  : "not a valid phone number");
        return apply(*q, a.value, cur, in, defs, now, field);
      }();
      if (!st) wrong.push_back(st.error());
    }
    if (!wrong.empty()) return combined(std::move(wrong));
    auto updated = customers_.update(form.customer_id, cur.version, in, actor);
    if (changed_meanwhile(updated)) continue;
    // An e-mail another customer has: the answer is kept and the profile's e-mails are not
    // changed; a flag tells the team (a likely duplicate). The link holder learns nothing of the
    // other customer: the answer is taken like any other.
    if (!updated && updated.error().code == Code::kAlreadyExists && updated.error().field.starts_with("emails") &&
        in.emails) {
      std::string given = in.emails->front().email;
      in.emails.reset();
      updated = customers_.update(form.customer_id, cur.version, in, actor);
      if (changed_meanwhile(updated)) continue;
      if (updated)
        FIDELIS_RETURN_IF_ERROR(customers_.add_flag(
            form.customer_id, {"email", given, "given in a questionnaire, but another customer has this address: a likely "
                               "duplicate", "questionnaire", now}));
    }
    if (!updated) return updated.error();
    FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
      for (const Answer& a : answers) {
        Value p[] = {form.questionnaire.id, form.customer_id, a.question_key, answer_text(a.value), now};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "INSERT INTO questionnaire_answers (questionnaire_id, customer_id, question_key, answer, at) VALUES ($1, $2, $3, "
            "$4, $5) ON CONFLICT (questionnaire_id, customer_id, question_key) DO UPDATE SET answer = excluded.answer, at = "
            "excluded.at",
            p));
      }
      return ok();
    }));
    return open(token);
  }
  return Error::conflict("the profile kept changing; try again");
}

Result<CompletionStats> QuestionnaireService::completion(int64_t qid) {
  FIDELIS_ASSIGN_OR_RETURN(Questionnaire q, get(qid));
  CompletionStats st;
  st.questionnaire_id = qid;
  Value p[] = {qid};
  // Live customers only: a record merged into another (its answers moved to the survivor) or
  // deleted is no longer a person the questionnaire reaches.
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> links,
      db_.one("SELECT COUNT(DISTINCT l.customer_id) FROM questionnaire_links l JOIN customers c ON c.id = l.customer_id "
              "WHERE l.questionnaire_id = $1 AND c.deleted_at IS NULL",
              p));
  st.links_issued = links->i64(0);
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows answers,
      db_.query("SELECT a.customer_id, a.question_key FROM questionnaire_answers a JOIN customers c ON c.id = a.customer_id "
                "WHERE a.questionnaire_id = $1 AND c.deleted_at IS NULL",
                p));
  std::map<int64_t, std::set<std::string>> by_customer;
  for (const auto& r : answers.rows) by_customer[r.i64(0)].insert(r.str(1));
  st.started = static_cast<int64_t>(by_customer.size());
  auto complete = [&](const std::set<std::string>& got, const std::vector<const Question*>& qs) {
    bool any_required = false;
    for (const Question* x : qs)
      if (x->required) {
        any_required = true;
        if (!got.contains(x->key)) return false;
      }
    if (any_required) return true;
    return std::any_of(qs.begin(), qs.end(), [&](const Question* x) { return got.contains(x->key); });
  };
  std::vector<const Question*> all;
  for (const auto& s : q.sections)
    for (const auto& x : s.questions) all.push_back(&x);
  for (const auto& [cid, got] : by_customer)
    if (complete(got, all)) ++st.completed;
  double issued = static_cast<double>(std::max<int64_t>(st.links_issued, 1));
  st.completion_rate = st.links_issued ? static_cast<double>(st.completed) / issued : 0;
  for (const auto& s : q.sections) {
    std::vector<const Question*> qs;
    for (const auto& x : s.questions) qs.push_back(&x);
    SectionRate sr{s.key, 0, 0};
    for (const auto& [cid, got] : by_customer)
      if (complete(got, qs)) ++sr.completed;
    sr.rate = st.links_issued ? static_cast<double>(sr.completed) / issued : 0;
    st.sections.push_back(sr);
  }
  return st;
}

}  // namespace fidelis::questionnaires
