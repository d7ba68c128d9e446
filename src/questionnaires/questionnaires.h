#pragma once
// questionnaires: progressive profiling. Admins define short questionnaires of sections whose
// typed questions are mapped to profile fields; each customer gets a signed, expiring link; the
// customer answers all or part of it through a public endpoint, and each answer updates the profile
// (source "questionnaire"; consent answers are recorded as consent changes with that source).
// Completion rates per questionnaire and per section measure how well it works.
//
// Links are stateless: base64url("qid.customer.expiry") + "." + HMAC-SHA-512/256 (libsodium
// crypto_auth) under a secret kept in the database, so every server process checks them alike.
//
// Thread-safety: QuestionnaireService is shared by all request threads.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "customers/customers.h"
#include "storage/db.h"

namespace fidelis::questionnaires {

// What a question fills in. Targets: "civility", "first_name", "last_name", "birth_date", "email",
// "phone", "street", "postcode", "city", "children" (household members with relation "enfant"),
// "affinities" (categories), "consent:<channel>:<purpose>" (e.g. consent:email:newsletter),
// "custom_fields.<key>".
enum class QuestionType { kText, kDate, kChoice, kMultiChoice, kBoolean, kChildren };
std::string_view question_type_name(QuestionType t);
Result<QuestionType> parse_question_type(std::string_view s, std::string_view field);

// Lengths are counted in characters (UTF-8 code points), not bytes.
struct Question {
  std::string key;     // [a-z][a-z0-9_]*, unique in the questionnaire
  std::string label;   // 1 to 500 characters
  QuestionType type = QuestionType::kText;
  std::string target;  // see above; must suit the type (InvalidArgument otherwise)
  std::vector<std::string> choices;  // kChoice, kMultiChoice; each 1 to 200 characters
  bool required = false;
};

struct Section {
  std::string key;    // e.g. "coordonnees", "anniversaires", "famille", "appetences", "abonnement"
  std::string title;  // e.g. "Gestion de l'abonnement"; at most 200 characters, the key when empty
  std::vector<Question> questions;
};

struct Questionnaire {
  int64_t id = 0;
  std::string slug;   // [a-z0-9-]+, unique
  std::string title;  // 1 to 200 characters
  std::string intro;  // at most 2000 characters
  std::vector<Section> sections;
  Millis created_at = 0;
};

// An answer as the public endpoint receives it.
struct Child {
  std::optional<std::string> first_name;
  std::optional<std::string> birth_date;
};
using AnswerValue = std::variant<std::string, bool, std::vector<std::string>, std::vector<Child>>;
struct Answer {
  std::string question_key;
  AnswerValue value;
};

// What the customer sees: the questionnaire plus what the profile already says for each question.
struct Form {
  Questionnaire questionnaire;
  int64_t customer_id = 0;
  Millis expires_at = 0;
  std::vector<std::pair<std::string, std::string>> current;  // question key -> current value, as text
  std::vector<std::string> answered;                         // question keys answered before
};

struct SectionRate {
  std::string section_key;
  int64_t completed = 0;  // customers who answered every required question of the section
  double rate = 0;        // completed / links issued
};
struct CompletionStats {
  int64_t questionnaire_id = 0;
  int64_t links_issued = 0;    // distinct customers given a link
  int64_t started = 0;         // answered at least one question
  int64_t completed = 0;       // answered every required question
  double completion_rate = 0;  // completed / links_issued
  std::vector<SectionRate> sections;
};

class QuestionnaireService {
 public:
  QuestionnaireService(storage::Db& db, const Clock& clock, customers::CustomerService& customers);

  // InvalidArgument naming the field ("sections[1].questions[0].target", "slug", ...);
  // AlreadyExists ("slug").
  Result<Questionnaire> create(Questionnaire q, const audit::Actor& actor);
  Result<Questionnaire> get(int64_t id);
  Result<std::vector<Questionnaire>> list();

  // A signed link token for `customer_id`, valid for `ttl_ms` (default 30 days). NotFound when the
  // questionnaire or the live customer does not exist.
  Result<std::string> issue_link(int64_t questionnaire_id, int64_t customer_id, Millis ttl_ms, const audit::Actor& actor);
  // Unauthenticated ("token") for a forged, altered or expired token.
  Result<Form> open(std::string_view token);
  // Applies the answers given (any subset) to the profile. InvalidArgument naming
  // "answers.<question_key>" for an unknown question or a value that does not fit (text holding a
  // control character: NUL, a line break, a tab, DEL, C1), or "answers.<key>[i]" for a child with
  // neither first name nor birth date; nothing is applied then.
  // `request` carries the caller's address and request id for the audit log.
  Result<Form> answer(std::string_view token, const std::vector<Answer>& answers, const audit::Actor& request = {});
  Result<CompletionStats> completion(int64_t questionnaire_id);

 private:
  Result<std::string> secret();  // the raw link key, made on first use, cached
  storage::Db& db_;
  const Clock& clock_;
  customers::CustomerService& customers_;
  std::mutex key_mu_;
  std::string link_key_;
};

}  // namespace fidelis::questionnaires
