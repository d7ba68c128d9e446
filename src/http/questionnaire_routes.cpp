// /api/v1/questionnaires (back office) and /api/v1/public/questionnaires/{token} (the customer).

#include <fmt/format.h>

#include "core/log.h"
#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace questionnaires;

namespace {

Json questionnaire_json(const Questionnaire& q) {
  Json sections = Json::array();
  for (const auto& s : q.sections) {
    Json qs = Json::array();
    for (const auto& x : s.questions)
      qs.push_back({{"key", x.key}, {"label", x.label}, {"type", question_type_name(x.type)}, {"target", x.target},
                    {"choices", x.choices}, {"required", x.required}});
    sections.push_back({{"key", s.key}, {"title", s.title}, {"questions", qs}});
  }
  return {{"id", q.id}, {"slug", q.slug}, {"title", q.title}, {"intro", q.intro}, {"sections", sections},
          {"created_at", iso(q.created_at)}};
}

Json form_json(const Form& f) {
  Json j = questionnaire_json(f.questionnaire);
  j.erase("created_at");
  // The customer sees labels and current values, not where answers go.
  for (auto& s : j["sections"])
    for (auto& q : s["questions"]) q.erase("target");
  Json current = Json::object();
  for (const auto& [k, v] : f.current) current[k] = v;
  j["current"] = current;
  j["answered"] = f.answered;
  j["expires_at"] = iso(f.expires_at);
  return j;
}

Result<Questionnaire> questionnaire_from_json(const Json& b) {
  FIDELIS_RETURN_IF_ERROR(reject_unknown(b, {"slug", "title", "intro", "sections"}));
  Questionnaire q;
  FIDELIS_ASSIGN_OR_RETURN(auto slug, get_string(b, "slug", "slug"));
  FIDELIS_ASSIGN_OR_RETURN(auto title, get_string(b, "title", "title"));
  FIDELIS_ASSIGN_OR_RETURN(auto intro, get_string(b, "intro", "intro"));
  q.slug = slug.value_or("");
  q.title = title.value_or("");
  q.intro = intro.value_or("");
  auto secs = b.find("sections");
  if (secs == b.end() || !secs->is_array()) return Error::invalid_argument("sections", "expected an array of sections");
  for (size_t i = 0; i < secs->size(); ++i) {
    const Json& s = (*secs)[i];
    std::string sf = fmt::format("sections[{}]", i);
    if (!s.is_object()) return Error::invalid_argument(sf, "expected an object");
    FIDELIS_RETURN_IF_ERROR(reject_unknown(s, {"key", "title", "questions"}, sf));
    Section sec;
    FIDELIS_ASSIGN_OR_RETURN(auto key, get_string(s, "key", sf + ".key"));
    FIDELIS_ASSIGN_OR_RETURN(auto stitle, get_string(s, "title", sf + ".title"));
    sec.key = key.value_or("");
    sec.title = stitle.value_or("");
    auto qs = s.find("questions");
    if (qs == s.end() || !qs->is_array()) return Error::invalid_argument(sf + ".questions", "expected an array");
    for (size_t k = 0; k < qs->size(); ++k) {
      const Json& x = (*qs)[k];
      std::string f = fmt::format("{}.questions[{}]", sf, k);
      if (!x.is_object()) return Error::invalid_argument(f, "expected an object");
      FIDELIS_RETURN_IF_ERROR(reject_unknown(x, {"key", "label", "type", "target", "choices", "required"}, f));
      Question qq;
      FIDELIS_ASSIGN_OR_RETURN(auto qkey, get_string(x, "key", f + ".key"));
      FIDELIS_ASSIGN_OR_RETURN(auto label, get_string(x, "label", f + ".label"));
      FIDELIS_ASSIGN_OR_RETURN(auto type, get_string(x, "type", f + ".type"));
      FIDELIS_ASSIGN_OR_RETURN(auto target, get_string(x, "target", f + ".target"));
      FIDELIS_ASSIGN_OR_RETURN(auto required, get_bool(x, "required", f + ".required"));
      qq.key = qkey.value_or("");
      qq.label = label.value_or("");
      FIDELIS_ASSIGN_OR_RETURN(qq.type, parse_question_type(type.value_or(""), f + ".type"));
      qq.target = target.value_or("");
      qq.required = required.value_or(false);
      if (auto c = x.find("choices"); c != x.end() && !c->is_null()) {
        if (!c->is_array()) return Error::invalid_argument(f + ".choices", "expected an array of strings");
        for (const auto& v : *c) {
          if (!v.is_string()) return Error::invalid_argument(f + ".choices", "expected an array of strings");
          qq.choices.push_back(v.get<std::string>());
        }
      }
      sec.questions.push_back(std::move(qq));
    }
    q.sections.push_back(std::move(sec));
  }
  return q;
}

Result<std::vector<Answer>> answers_from_json(const Json& b) {
  FIDELIS_RETURN_IF_ERROR(reject_unknown(b, {"answers"}));
  auto a = b.find("answers");
  if (a == b.end() || !a->is_object()) return Error::invalid_argument("answers", "expected {\"question key\": answer, ...}");
  std::vector<Answer> out;
  // Every answer and every child is read, whatever the others hold: the form shows all its mistakes.
  std::vector<Error> wrong;
  constexpr std::string_view kExpected = "expected text, true/false, a list of choices or a list of children";
  for (auto it = a->begin(); it != a->end(); ++it) {
    std::string f = "answers." + it.key();
    const Json& v = it.value();
    if (v.is_string()) out.push_back({it.key(), v.get<std::string>()});
    else if (v.is_boolean()) out.push_back({it.key(), v.get<bool>()});
    else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_string(); }))
      out.push_back({it.key(), v.get<std::vector<std::string>>()});
    else if (v.is_array()) {
      std::vector<Child> kids;
      const size_t errors_before = wrong.size();
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string kf = fmt::format("{}[{}]", f, i);
        Status st = [&]() -> Status {
          const Json& k = v[i];
          if (!k.is_object()) return Error::invalid_argument(kf, "expected a child: {\"first_name\": ..., \"birth_date\": ...}");
          FIDELIS_RETURN_IF_ERROR(reject_unknown(k, {"first_name", "birth_date"}, kf));
          FIDELIS_ASSIGN_OR_RETURN(auto name, get_string(k, "first_name", kf + ".first_name"));
          FIDELIS_ASSIGN_OR_RETURN(auto birth, get_string(k, "birth_date", kf + ".birth_date"));
          kids.push_back({name, birth});
          return ok();
        }();
        if (!st) wrong.push_back(st.error());
      }
      if (wrong.size() == errors_before) out.push_back({it.key(), kids});
    } else {
      wrong.push_back(Error::invalid_argument(f, std::string(kExpected)));
    }
  }
  if (!wrong.empty()) return combined(std::move(wrong));
  return out;
}

}  // namespace

void add_questionnaire_routes(Router& r, Services& s) {
  r.add({"POST", "/api/v1/questionnaires", "createQuestionnaire", Permission::kQuestionnairesManage, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto q = questionnaire_from_json(*body);
           if (!q) return problem(q.error());
           auto created = s.questionnaires.create(std::move(*q), ctx.actor);
           if (!created) return problem(created.error());
           Response res = json_response(201, questionnaire_json(*created));
           res.set("Location", fmt::format("/api/v1/questionnaires/{}", created->id));
           return res;
         }});
  r.add({"GET", "/api/v1/questionnaires", "listQuestionnaires", Permission::kQuestionnairesManage, false, true,
         [&s](Context&) {
           auto list = s.questionnaires.list();
           if (!list) return problem(list.error());
           Json items = Json::array();
           for (const auto& q : *list) items.push_back(questionnaire_json(q));
           return json_response(200, {{"items", items}});
         }});
  r.add({"GET", "/api/v1/questionnaires/{id}", "getQuestionnaire", Permission::kQuestionnairesManage, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto q = s.questionnaires.get(*id);
           if (!q) return problem(q.error());
           return json_response(200, questionnaire_json(*q));
         }});
  r.add({"POST", "/api/v1/questionnaires/{id}/links", "createQuestionnaireLink", Permission::kQuestionnairesManage,
         false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"customer_id", "ttl_days"}); !st) return problem(st.error());
           auto customer = get_int(*body, "customer_id", "customer_id");
           auto days = get_int(*body, "ttl_days", "ttl_days");
           if (!customer) return problem(customer.error());
           if (!days) return problem(days.error());
           if (!*customer) return problem(Error::invalid_argument("customer_id", "is required"));
           if (**customer < 1) return problem(Error::invalid_argument("customer_id", "must be a customer id (1 or more)"));
           Millis ttl = days->value_or(30) * 86'400'000;
           auto token = s.questionnaires.issue_link(*id, **customer, ttl, ctx.actor);
           if (!token) return problem(token.error());
           return json_response(201, {{"token", *token},
                                      {"path", "/api/v1/public/questionnaires/" + *token},
                                      {"expires_at", iso(s.clock.now() + ttl)}});
         }});
  r.add({"GET", "/api/v1/questionnaires/{id}/completion", "getQuestionnaireCompletion",
         Permission::kQuestionnairesManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto c = s.questionnaires.completion(*id);
           if (!c) return problem(c.error());
           Json sections = Json::array();
           for (const auto& x : c->sections)
             sections.push_back({{"section", x.section_key}, {"completed", x.completed}, {"rate", x.rate}});
           return json_response(200, {{"questionnaire_id", c->questionnaire_id},
                                      {"links_issued", c->links_issued},
                                      {"started", c->started},
                                      {"completed", c->completed},
                                      {"completion_rate", c->completion_rate},
                                      {"sections", sections}});
         }});
  // The customer's side: no account, the signed token is the credential.
  r.add({"GET", "/api/v1/public/questionnaires/{token}", "openQuestionnaire", std::nullopt, false, true,
         [&s](Context& ctx) {
           auto f = s.questionnaires.open(ctx.params.at("token"));
           if (!f) return problem(f.error());
           Response res = json_response(200, form_json(*f));
           res.set("Cache-Control", "no-store");
           return res;
         }});
  r.add({"POST", "/api/v1/public/questionnaires/{token}", "answerQuestionnaire", std::nullopt, false, true,
         [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto answers = answers_from_json(*body);
           if (!answers) return problem(answers.error());
           auto f = s.questionnaires.answer(ctx.params.at("token"), *answers, ctx.actor);
           if (!f) return problem(f.error());
           // A browser the tracking snippet knows: its visits join the profile of who answered.
           std::string visitor = cookie_value(ctx.req.header("Cookie"), "fid_vid");
           if (!visitor.empty() && tracking::valid_visitor_id(visitor)) {
             if (auto st = s.tracking.identify(visitor, f->customer_id, ctx.actor); !st)
               log::warn("cannot join a visitor to a questionnaire's customer", {{"error", st.error().message}});
           }
           Response res = json_response(200, form_json(*f));
           res.set("Cache-Control", "no-store");
           return res;
         }});
}

}  // namespace fidelis::http
