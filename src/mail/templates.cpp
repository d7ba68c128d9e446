// Template versions: every save adds a version; the highest version of (key, locale) is current.

#include <fmt/format.h>

#include <algorithm>

#include "mail/mail_internal.h"

namespace fidelis::mail {

using storage::Value;

namespace {

constexpr std::string_view kTemplateColumns =
    "id, template_key, locale, version, subject, text_body, html_body, created_at, created_by";

Template template_from_row(const storage::Row& r) {
  return Template{r.i64(0), r.str(1), r.str(2), r.i64(3), {r.str(4), r.str(5), r.str(6)}, r.i64(7), r.str(8)};
}

// The current versions: no later version of the same key and locale exists.
constexpr std::string_view kCurrentOnly =
    "NOT EXISTS (SELECT 1 FROM mail_templates n WHERE n.template_key = t.template_key AND n.locale = t.locale "
    "AND n.version > t.version)";

}  // namespace

namespace internal {

Result<std::optional<Template>> current_template(storage::Tx& tx, std::string_view key, std::string_view locale) {
  Value p[] = {std::string(key), std::string(locale)};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           tx.one(fmt::format("SELECT {} FROM mail_templates WHERE template_key = $1 AND locale = $2 "
                                              "ORDER BY version DESC LIMIT 1",
                                              kTemplateColumns),
                                  p));
  if (!row) return std::optional<Template>();
  return std::optional<Template>(template_from_row(*row));
}

}  // namespace internal

Result<std::vector<Template>> MailService::templates() {
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                           db_.query(fmt::format("SELECT {} FROM mail_templates t WHERE {} ORDER BY template_key, locale",
                                                 kTemplateColumns, kCurrentOnly)));
  std::vector<Template> out;
  for (const auto& r : rows.rows) out.push_back(template_from_row(r));
  return out;
}

Result<TemplateHistory> MailService::history(std::string_view key) {
  FIDELIS_RETURN_IF_ERROR(check_template_key(key));
  TemplateHistory h{std::string(key), {}, {}};
  Status s = db_.read([&](storage::Tx& tx) -> Status {
    Value p[] = {std::string(key)};
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows current,
                             tx.query(fmt::format("SELECT {} FROM mail_templates t WHERE template_key = $1 AND {} "
                                                  "ORDER BY locale",
                                                  kTemplateColumns, kCurrentOnly),
                                      p));
    for (const auto& r : current.rows) h.current.push_back(template_from_row(r));
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows all,
                             tx.query("SELECT id, template_key, locale, version, '', '', '', created_at, created_by "
                                      "FROM mail_templates WHERE template_key = $1 ORDER BY version DESC, locale",
                                      p));
    for (const auto& r : all.rows) h.versions.push_back(template_from_row(r));
    return ok();
  });
  if (!s) return s.error();
  if (h.current.empty()) return Error::not_found("key", "no template '" + std::string(key) + "'");
  return h;
}

Result<Template> MailService::save_template(std::string_view key, std::string_view locale, TemplateText body,
                                            const audit::Actor& actor) {
  FIDELIS_RETURN_IF_ERROR(check_template_key(key));
  FIDELIS_RETURN_IF_ERROR(check_locale(locale));
  FIDELIS_RETURN_IF_ERROR(check_template(body));
  Millis now = clock_.now();
  Template out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    // Two editors saving at once get versions n+1 and n+2, not a unique violation.
    FIDELIS_RETURN_IF_ERROR(tx.lock_key(fmt::format("mail_template:{}:{}", key, locale)));
    Value kp[] = {std::string(key), std::string(locale)};
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> last,
        tx.one("SELECT COALESCE(MAX(version), 0) FROM mail_templates WHERE template_key = $1 AND locale = $2", kp));
    int64_t version = (last ? last->i64(0) : 0) + 1;
    std::string by = actor.name.empty() ? actor.type : actor.name;
    Value p[] = {std::string(key), std::string(locale), version, body.subject, body.text, body.html, now, by};
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> row,
        tx.one(fmt::format("INSERT INTO mail_templates (template_key, locale, version, subject, text_body, html_body, "
                           "created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                           kTemplateColumns),
               p));
    out = template_from_row(*row);
    return audit::record(tx, actor,
                         {"mail_template.save", "mail_template", fmt::format("{}/{}", key, locale),
                          version > 1 ? std::optional<std::string>(fmt::format(R"({{"version":{}}})", version - 1)) : std::nullopt,
                          fmt::format(R"({{"version":{}}})", version)},
                         now);
  });
  if (!s) return s.error();
  return out;
}

Result<Rendered> MailService::preview(std::string_view key, std::string_view locale, const std::optional<TemplateText>& body,
                                      std::string_view context_json) {
  FIDELIS_RETURN_IF_ERROR(check_template_key(key));
  FIDELIS_RETURN_IF_ERROR(check_locale(locale));
  if (body) {
    FIDELIS_RETURN_IF_ERROR(check_template(*body));
    return render(*body, context_json, locale);
  }
  std::optional<Template> current;
  Status s = db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(current, internal::current_template(tx, key, locale));
    return ok();
  });
  if (!s) return s.error();
  if (!current) return Error::not_found("key", fmt::format("no template '{}' in '{}'", key, locale));
  return render(current->body, context_json, locale);
}

}  // namespace fidelis::mail
