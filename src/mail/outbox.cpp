// The outbox: queueing a rendered message (deduplicated by key), reading messages, and sending a
// failed one again on request.

#include <fmt/format.h>

#include "core/email.h"
#include "mail/mail_internal.h"

namespace fidelis::mail {

using storage::Value;

namespace internal {

std::string message_columns(bool with_bodies) {
  return fmt::format(
      "m.id, m.customer_id, m.template_id, t.template_key, t.locale, t.version, m.dedup_key, m.to_email, m.to_name, "
      "m.subject, {}, m.status, m.attempts, m.next_attempt_at, m.claimed_until, m.last_code, m.last_reply, "
      "m.message_id, m.created_at, m.updated_at, m.sent_at",
      with_bodies ? "m.text_body, m.html_body" : "NULL, NULL");
}

Message message_from_row(const storage::Row& r) {
  Message m;
  m.id = r.i64(0);
  m.customer_id = r.opt_i64(1);
  m.template_id = r.i64(2);
  m.template_key = r.str(3);
  m.locale = r.str(4);
  m.template_version = r.i64(5);
  m.dedup_key = r.opt_str(6);
  m.to_email = r.str(7);
  m.to_name = r.str(8);
  m.subject = r.str(9);
  m.text = r.str(10);
  m.html = r.str(11);
  m.state = parse_state(r.str(12)).value_or(State::kQueued);
  m.attempts = static_cast<int>(r.i64(13));
  m.next_attempt_at = r.opt_i64(14);
  m.claimed_until = r.opt_i64(15);
  if (!r.is_null(16)) m.last_code = static_cast<int>(r.i64(16));
  m.last_reply = r.opt_str(17);
  m.message_id = r.opt_str(18);
  m.created_at = r.i64(19);
  m.updated_at = r.i64(20);
  m.sent_at = r.opt_i64(21);
  return m;
}

}  // namespace internal

namespace {

constexpr std::string_view kStateNames[] = {"queued", "sending", "sent", "failed"};

Result<std::optional<int64_t>> by_dedup_key(storage::Tx& tx, const std::string& key) {
  Value p[] = {key};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT id FROM mail_messages WHERE dedup_key = $1", p));
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(row->i64(0));
}

}  // namespace

std::string_view state_name(State s) { return kStateNames[static_cast<int>(s)]; }

Result<State> parse_state(std::string_view name, std::string_view field) {
  for (int i = 0; i < 4; ++i)
    if (kStateNames[i] == name) return static_cast<State>(i);
  return Error::invalid_argument(std::string(field), "expected queued, sending, sent or failed");
}

namespace {

// enqueue(), telling whether this call inserted the message (false: its dedup key was there).
Result<int64_t> enqueue_in(storage::Tx& tx, const Outgoing& m, Millis now, bool& created) {
  created = false;
  FIDELIS_ASSIGN_OR_RETURN(std::string to, normalize_email(m.to_email, "to_email"));
  if (m.to_name.find_first_of("\r\n") != std::string::npos || m.to_name.size() > 200)
    return Error::invalid_argument("to_name", "must be one line of at most 200 bytes");
  if (auto st = check_template_key(m.template_key); !st) return Error::invalid_argument("template_key", st.error().message);
  if (m.dedup_key.size() > 200) return Error::invalid_argument("dedup_key", "must be at most 200 bytes");
  if (!m.dedup_key.empty()) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> existing, by_dedup_key(tx, m.dedup_key));
    if (existing) return *existing;
  }
  std::string locale = normalize_locale(m.locale);
  FIDELIS_ASSIGN_OR_RETURN(std::optional<Template> tmpl, internal::current_template(tx, m.template_key, locale));
  if (!tmpl && locale != "fr") {
    FIDELIS_ASSIGN_OR_RETURN(tmpl, internal::current_template(tx, m.template_key, "fr"));
  }
  if (!tmpl) return Error::not_found("template_key", "no template '" + m.template_key + "'");
  FIDELIS_ASSIGN_OR_RETURN(Rendered r, render(tmpl->body, m.context_json, tmpl->locale));

  Value p[] = {storage::opt(m.customer_id), tmpl->id, m.dedup_key.empty() ? storage::null() : Value(m.dedup_key), to,
               m.to_name, r.subject, r.text, r.html, now};
  // ON CONFLICT DO NOTHING rather than a unique violation: on PostgreSQL a violation would abort
  // the caller's transaction, and a concurrent enqueue with the same key waits here for the other
  // to commit, then finds its row below.
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("INSERT INTO mail_messages (customer_id, template_id, dedup_key, to_email, to_name, subject, text_body, "
             "html_body, status, attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
             "'queued', 0, $9, $9, $9) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
             p));
  if (!row) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> existing, by_dedup_key(tx, m.dedup_key));
    if (!existing) return Error::internal("mail enqueue: no row inserted and none found for the dedup key");
    return *existing;
  }
  int64_t id = row->i64(0);
  created = true;
  FIDELIS_RETURN_IF_ERROR(audit::emit(
      tx,
      {"mail.queued", m.customer_id, std::to_string(id),
       fmt::format(R"({{"template_key":"{}","locale":"{}","version":{}}})", tmpl->key, tmpl->locale, tmpl->version)},
      now));
  return id;
}

}  // namespace

Result<int64_t> enqueue(storage::Tx& tx, const Outgoing& m, Millis now) {
  bool created = false;
  return enqueue_in(tx, m, now, created);
}

Result<MailService::Queued> MailService::queue(const Outgoing& m, const audit::Actor& actor) {
  Millis now = clock_.now();
  Queued out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(out.id, enqueue_in(tx, m, now, out.created));
    if (!out.created) return ok();
    return audit::record(tx, actor,
                         {"mail.queue", "mail_message", std::to_string(out.id), std::nullopt,
                          fmt::format(R"({{"template_key":"{}"}})", m.template_key)},
                         now);
  });
  if (!s) return s.error();
  return out;
}

Result<MessagePage> MailService::list_messages(const MessageQuery& q) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  std::vector<Value> params;
  auto param = [&](Value v) {
    params.push_back(std::move(v));
    return fmt::format("${}", params.size());
  };
  std::string sql = fmt::format("SELECT {} FROM {} WHERE 1 = 1", internal::message_columns(false), internal::kMessageFrom);
  if (q.state) sql += fmt::format(" AND m.status = {}", param(std::string(state_name(*q.state))));
  if (q.customer_id) sql += fmt::format(" AND m.customer_id = {}", param(*q.customer_id));
  if (q.before_id) sql += fmt::format(" AND m.id < {}", param(*q.before_id));
  sql += fmt::format(" ORDER BY m.id DESC LIMIT {}", param(int64_t{q.limit + 1}));
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query(sql, params));
  MessagePage page;
  for (const auto& r : rows.rows) {
    if (static_cast<int>(page.items.size()) == q.limit) {
      page.next_before_id = page.items.back().id;
      break;
    }
    page.items.push_back(internal::message_from_row(r));
  }
  return page;
}

Result<Message> MailService::get_message(int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      db_.one(fmt::format("SELECT {} FROM {} WHERE m.id = $1", internal::message_columns(true), internal::kMessageFrom), p));
  if (!row) return Error::not_found("id", fmt::format("no message {}", id));
  return internal::message_from_row(*row);
}

Result<Message> MailService::retry(int64_t id, const audit::Actor& actor) {
  Millis now = clock_.now();
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {id, now};
    FIDELIS_ASSIGN_OR_RETURN(int64_t changed,
                             tx.exec("UPDATE mail_messages SET status = 'queued', attempts = 0, next_attempt_at = $2, "
                                     "claimed_until = NULL, updated_at = $2 WHERE id = $1 AND status = 'failed'",
                                     p));
    if (changed == 0) {
      Value idp[] = {id};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT status FROM mail_messages WHERE id = $1", idp));
      if (!row) return Error::not_found("id", fmt::format("no message {}", id));
      return Error::failed_precondition("status", "only a failed message can be retried; this one is " + row->str(0));
    }
    return audit::record(tx, actor, {"mail.retry", "mail_message", std::to_string(id), R"({"status":"failed"})",
                                     R"({"status":"queued"})"},
                         now);
  });
  if (!s) return s.error();
  return get_message(id);
}

}  // namespace fidelis::mail
