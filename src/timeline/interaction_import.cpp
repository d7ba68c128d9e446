// `fidelis import interactions FILE`: CSV rows to interactions, with a report of refused rows.

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/text.h"
#include "imports/imports.h"
#include "timeline/timeline_internal.h"

namespace fidelis::timeline {

using storage::Value;

namespace {

constexpr int64_t kBatchRows = 500;

// "2026-01-15T10:30:00Z", "2026-01-15", or "2026-01-15 10:30[:00]" (UTC).
Result<Millis> parse_time(std::string v) {
  v = std::string(text::trim(v));
  if (v.size() >= 16 && v[10] == ' ') {
    v[10] = 'T';
    if (v.size() == 16) v += ":00";
    if (v.find('Z') == std::string::npos && v.find('+') == std::string::npos && v.rfind('-') < 10) v += "Z";
  }
  return parse_iso8601(v, "at");
}

struct Row {
  InteractionInput in;
  std::string customer_email, agent_email;
  int64_t line = 0;
};

}  // namespace

Result<ImportReport> import_interactions(storage::Db& db, const Clock& clock, const std::string& path,
                                         const audit::Actor& actor) {
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<imports::CsvSource> src, imports::CsvSource::open(path));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<imports::CsvRecord> header, src->next());
  if (!header) return Error::invalid_argument("file", "the file is empty; expected a header row");
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header->fields.size(); ++i) col[text::to_lower_ascii(text::trim(header->fields[i]))] = i;
  for (std::string_view name : {"channel", "direction"})
    if (!col.contains(std::string(name))) return Error::invalid_argument("file", fmt::format("no '{}' column", name));
  if (!col.contains("customer_id") && !col.contains("customer_email"))
    return Error::invalid_argument("file", "no 'customer_id' or 'customer_email' column");
  std::string source = "import:" + std::filesystem::path(path).filename().string();

  ImportReport report;
  std::vector<Row> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return ok();
    Millis now = clock.now();
    std::vector<ImportReject> rejected;
    int64_t imported = 0;
    FIDELIS_RETURN_IF_ERROR(db.transact([&](storage::Tx& tx) -> Status {
      rejected.clear();
      imported = 0;
      for (Row& r : batch) {
        if (!r.customer_email.empty()) {
          FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> c, customers::find_by_email(tx, r.customer_email));
          if (!c) {
            rejected.push_back({r.line, "customer_email", "no customer has this e-mail"});
            continue;
          }
          r.in.customer_id = *c;
        }
        if (!r.agent_email.empty()) {
          Value p[] = {text::to_lower(r.agent_email)};
          FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> u, tx.one("SELECT id FROM users WHERE email = $1", p));
          if (!u) {
            rejected.push_back({r.line, "agent", "no user has this e-mail"});
            continue;
          }
          r.in.agent_id = u->i64(0);
        }
        if (Status s = check_references(tx, r.in); !s) {
          if (s.error().code != Code::kNotFound) return s;
          rejected.push_back({r.line, s.error().field, s.error().message});
          continue;
        }
        FIDELIS_RETURN_IF_ERROR(insert_interaction(tx, r.in, actor, source, now));
        ++imported;
      }
      return ok();
    }));
    report.imported += imported;
    report.rejects.insert(report.rejects.end(), rejected.begin(), rejected.end());
    batch.clear();
    return ok();
  };

  for (;;) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<imports::CsvRecord> rec, src->next());
    if (!rec) break;
    ++report.rows;
    auto get = [&](const char* name) -> std::optional<std::string> {
      auto it = col.find(name);
      if (it == col.end() || it->second >= rec->fields.size()) return std::nullopt;
      std::string v(text::trim(rec->fields[it->second]));
      if (v.empty()) return std::nullopt;
      return v;
    };
    Row r;
    r.line = rec->line;
    auto reject = [&](const Error& e) { report.rejects.push_back({rec->line, e.field, e.message}); };
    if (rec->malformed) {
      reject(Error::invalid_argument(
          rec->malformed_column < header->fields.size() ? std::string(text::trim(header->fields[rec->malformed_column])) : "line",
          *rec->malformed));
      continue;
    }
    if (auto id = get("customer_id")) {
      try {
        size_t used = 0;
        r.in.customer_id = std::stoll(*id, &used);
        if (used != id->size()) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        reject(Error::invalid_argument("customer_id", "is not an integer"));
        continue;
      }
    } else if (auto email = get("customer_email")) {
      r.customer_email = *email;
    } else {
      reject(Error::invalid_argument("customer_id", "is required (or customer_email)"));
      continue;
    }
    r.in.channel = get("channel");
    r.in.direction = get("direction");
    if (!r.in.channel) {
      reject(Error::invalid_argument("channel", "is required"));
      continue;
    }
    if (!r.in.direction) {
      reject(Error::invalid_argument("direction", "is required"));
      continue;
    }
    if (auto at = get("at")) {
      auto t = parse_time(*at);
      if (!t) {
        reject(t.error());
        continue;
      }
      r.in.at = *t;
    }
    r.agent_email = get("agent").value_or("");
    r.in.subject = get("subject");
    r.in.notes = get("notes");
    r.in.outcome = get("outcome");
    if (Status s = check_interaction(r.in, clock.now()); !s) {
      reject(s.error());
      continue;
    }
    batch.push_back(std::move(r));
    if (static_cast<int64_t>(batch.size()) >= kBatchRows) FIDELIS_RETURN_IF_ERROR(flush());
  }
  FIDELIS_RETURN_IF_ERROR(flush());
  std::sort(report.rejects.begin(), report.rejects.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
  return report;
}

}  // namespace fidelis::timeline
