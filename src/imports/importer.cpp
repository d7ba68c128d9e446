// Running an import: batches committed with the import's progress (resumable, exactly once),
// matching existing customers, provenance, flags and rejects.

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>

#include <signal.h>
#include <unistd.h>

#include "core/log.h"
#include "core/text.h"
#include "imports/imports_internal.h"
#include "storage/migrate.h"

namespace fidelis::imports {

using storage::Value;
using namespace customers;

namespace {

// What a row of a source of priority `priority` may replace in a customer whose sources rank
// `ranks` (merging::source_rank): every value when it ranks at least as high; otherwise the gaps,
// and a name or address part it writes with more care unless people typed the customer's.
Replace replace_for(int priority, int ranks) {
  if (priority >= ranks) return Replace::kValues;
  return ranks < merging::kTypedByPeopleRank ? Replace::kWriting : Replace::kGaps;
}

// ---- who runs an import ----
// A run claims its import as "host:pid". Another run of the same file for the same source is
// refused while that worker lives: on this host, while its process exists (a killed import is
// resumed at once); elsewhere (a shared PostgreSQL), until it has been silent for kWorkerSilence.

constexpr Millis kWorkerSilence = 120'000;


std::string host_name() {
  char h[256] = {};
  if (::gethostname(h, sizeof h - 1) != 0) return "localhost";
  return h;
}

std::string this_worker() { return fmt::format("{}:{}", host_name(), static_cast<long>(::getpid())); }

// The imports this process is running, per database.
struct RunningHere {
  std::mutex mu;
  std::set<std::pair<const void*, int64_t>> ids;
};
RunningHere& running_here() {
  static RunningHere r;
  return r;
}

bool worker_alive(const std::string& worker, Millis updated_at, Millis now, const void* db, int64_t id) {
  size_t colon = worker.rfind(':');
  if (worker.empty() || colon == std::string::npos) return false;
  long pid = std::strtol(worker.c_str() + colon + 1, nullptr, 10);
  if (worker.substr(0, colon) != host_name()) return now - updated_at < kWorkerSilence;
  if (pid == static_cast<long>(::getpid())) {
    std::lock_guard lock(running_here().mu);
    return running_here().ids.contains({db, id});
  }
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

// The file's name for the import: the upload's, else the path's.
std::string file_name_of(const ImportOptions& o) {
  return o.file_name.empty() ? std::filesystem::path(o.path).filename().string() : o.file_name;
}

// A new import of the file for `source`, "queued" (for the runner) or "running" (claimed by `worker`).
Result<int64_t> insert_import(storage::Tx& tx, const ImportOptions& o, const std::string& source, const std::string& fp,
                              const CsvSource& src, std::string_view status, const std::string& worker, Millis now) {
  Value ins[] = {source, file_name_of(o), fp, src.size(), src.dialect().encoding, std::string(1, src.dialect().delimiter),
                 encode_options(o), now, std::filesystem::absolute(o.path).string(), std::string(status), worker};
  return tx.insert_id("INSERT INTO imports (source, file_name, path, fingerprint, file_size, encoding, delimiter, options, "
                      "status, records_done, started_at, updated_at, worker) VALUES ($1, $2, $9, $3, $4, $5, $6, $7, $10, "
                      "1, $8, $8, $11)",
                      ins);
}

// Records the source (its priority when given) and returns its priority.
Result<int> record_source(storage::Tx& tx, const std::string& source, std::optional<int> priority, Millis now) {
  Value sp[] = {source, priority ? Value(int64_t{*priority}) : storage::null(), now};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> s,
      tx.one("INSERT INTO sources (name, priority, created_at) VALUES ($1, COALESCE(CAST($2 AS BIGINT), 50), $3) "
             "ON CONFLICT (name) DO UPDATE SET priority = COALESCE(CAST($2 AS BIGINT), sources.priority) RETURNING priority",
             sp));
  return static_cast<int>(s->i64(0));
}

Error running_elsewhere(int64_t id, const std::string& source, const std::string& worker) {
  return Error{Code::kConflict, "file",
               fmt::format("import {} of this file for source '{}' is running ({}): wait for it to end, then run it "
                           "again to resume it if it stopped",
                           id, source, worker)};
}

// Columns: id, records_done, status, worker, updated_at, started_at, fingerprint. With `id`, that
// import (whatever its status); else the latest unfinished import of the file (by fingerprint) for
// the source.
Result<std::optional<storage::Row>> unfinished_import(storage::Tx& tx, const std::string& fp, const std::string& source,
                                                      int64_t id) {
  if (id != 0) {
    Value p[] = {id};
    return tx.one("SELECT id, records_done, status, worker, updated_at, started_at, fingerprint FROM imports WHERE id = $1", p);
  }
  Value p[] = {fp, source};
  return tx.one("SELECT id, records_done, status, worker, updated_at, started_at, fingerprint FROM imports "
                "WHERE fingerprint = $1 AND source = $2 AND status <> 'done' ORDER BY id DESC LIMIT 1",
                p);
}

std::string file_changed_reason(const std::string& path, int64_t records_done) {
  return fmt::format("the file {} is not the one this import was reading (replaced or edited since; {} records of the "
                     "earlier file were imported): nothing more was read; import the file again to read it whole",
                     path, std::max<int64_t>(0, records_done - 1));
}

// Marks import `id` failed for `why`, at `now`.
Status mark_failed(storage::Tx& tx, int64_t id, const std::string& why, Millis now) {
  Value up[] = {id, why, now};
  FIDELIS_RETURN_IF_ERROR(
      tx.exec("UPDATE imports SET status = 'failed', error = $2, updated_at = $3, finished_at = $3 WHERE id = $1", up));
  return ok();
}

// The unfinished imports of the file at `path` for `source` that read another file (replaced or
// edited since: they cannot resume) and whose process is gone are marked failed, saying so.
Status fail_imports_of_replaced_file(storage::Tx& tx, const std::string& path, const std::string& source,
                                     const std::string& fp, Millis now, const void* db) {
  Value p[] = {path, source, fp};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                           tx.query("SELECT id, records_done, status, worker, updated_at FROM imports WHERE path = $1 AND "
                                    "source = $2 AND fingerprint <> $3 AND status IN ('queued', 'running', 'interrupted')",
                                    p));
  for (const storage::Row& r : rows.rows) {
    if (r.str(2) == "running" && worker_alive(r.str(3), r.i64(4), now, db, r.i64(0))) continue;
    FIDELIS_RETURN_IF_ERROR(mark_failed(tx, r.i64(0), file_changed_reason(path, r.i64(1)), now));
  }
  return ok();
}

// FNV-1a over the first 64 KiB and the size: recognises the same file when an import is rerun.
std::string fingerprint(const std::string& path, int64_t size) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  uint64_t h = 1469598103934665603ULL;
  if (f != nullptr) {
    std::string buf(64 << 10, '\0');
    buf.resize(std::fread(buf.data(), 1, buf.size(), f));
    std::fclose(f);
    for (unsigned char c : buf) h = (h ^ c) * 1099511628211ULL;
  }
  return fmt::format("{:016x}-{}", h, size);
}

ImportStatus status_from_row(const storage::Row& r) {
  ImportStatus s;
  s.id = r.i64(0);
  s.source = r.str(1);
  s.file_name = r.str(2);
  s.status = r.str(3);
  s.encoding = r.str(4);
  s.delimiter = r.str(5).empty() ? ',' : r.str(5)[0];
  s.rows_read = r.i64(6);
  s.accepted = r.i64(7);
  s.merged = r.i64(8);
  s.rejected = r.i64(9);
  s.flagged = r.i64(10);
  s.bytes_done = r.i64(11);
  s.bytes_total = r.i64(12);
  s.error = r.opt_str(13);
  s.started_at = r.i64(14);
  s.updated_at = r.i64(15);
  s.finished_at = r.opt_i64(16);
  s.queued = r.i64(17);
  s.bulk = r.i64(18) != 0;
  s.unchanged = r.i64(19);
  s.updated = r.i64(21);
  const std::string all = r.str(20);
  for (size_t start = 0, end; start < all.size(); start = end + 1) {
    end = std::min(all.find('\n', start), all.size());
    if (end > start) s.warnings.push_back(all.substr(start, end - start));
  }
  // Every row is written; the indexes are being rebuilt.
  if (s.bulk && s.status == "running" && s.bytes_total > 0 && s.bytes_done >= s.bytes_total) s.phase = "indexes";
  double secs = static_cast<double>(std::max<Millis>(1, (s.finished_at.value_or(s.updated_at) - s.started_at))) / 1000.0;
  s.rows_per_second = static_cast<double>(s.rows_read) / secs;
  if (s.status == "running" && s.bytes_done > 0 && s.bytes_total > s.bytes_done)
    s.eta_seconds = secs * static_cast<double>(s.bytes_total - s.bytes_done) / static_cast<double>(s.bytes_done);
  return s;
}

constexpr std::string_view kStatusColumns =
    "id, source, file_name, status, encoding, delimiter, records_done - 1, accepted, merged, rejected, flagged, "
    "bytes_done, file_size, error, started_at, updated_at, finished_at, queued, bulk, unchanged, warnings, updated";

struct Pending {
  int64_t line = 0;
  std::vector<std::string> fields;  // kept for a row that is, or may yet be, rejected
  std::string raw;                  // a malformed record's text, as in the file
  std::optional<BuiltRow> row;
  RowKeys keys;
  std::optional<Error> rejection;
};

// A row that identifies its person only by e-mail: no name and no phone.
bool only_emails_identify(const CustomerInput& in) {
  return !in.first_name && !in.last_name && (!in.phones || in.phones->empty());
}

// Why a row naming a customer by Fidelis id that no longer lives is rejected.
std::string no_customer_reason(int64_t id) {
  return fmt::format("no customer {}: it was deleted, or this file comes from another base (map the column to "
                     "external_id there)",
                     id);
}

// Why a row known by e-mails alone, all of them other customers', is rejected.
std::string emails_taken_reason(bool dedup) {
  return dedup ? "its e-mails belong to different customers: nothing left to make a customer from"
               : "its e-mails belong to other customers: nothing left to make a customer from";
}

// Why a row with an id whose customer was deleted is rejected (`own`: the id is in the import's source).
std::string deleted_owner_reason(const customers::ExternalId& x, bool own, int64_t owner) {
  return fmt::format("id '{}'{} belongs to customer {}, which was deleted: restore that customer, or import the row "
                     "without its id",
                     x.id, own ? "" : " in " + x.source, owner);
}

// What the import would do with `row` and the customers stored now (PreviewMatch), in the order
// Importer::run decides it; a rejection the import would make as an error naming the field.
// The row's e-mails the import would leave to other customers are flagged in `flags` as it flags them.
Result<std::optional<PreviewMatch>> forecast_match(storage::Tx& tx, const BuiltRow& row, const std::string& source,
                                                   bool dedup, const dedup::Model& model, std::vector<Flag>& flags) {
  static const std::vector<EmailAddress> kNoEmails;
  const std::vector<EmailAddress>& emails = row.input.emails ? *row.input.emails : kNoEmails;
  std::vector<std::optional<int64_t>> owners;
  for (const EmailAddress& e : emails) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> owner, customers::find_by_email(tx, e.email));
    owners.push_back(owner);
  }
  // Flags the e-mails another customer than `keeper` has; returns `m`.
  auto leaving = [&](std::optional<int64_t> keeper, std::optional<PreviewMatch> m) {
    for (size_t i = 0; i < emails.size(); ++i)
      if (owners[i] && owners[i] != keeper) flags.push_back({"email", emails[i].email, already_used_reason(*owners[i])});
    return m;
  };
  std::optional<int64_t> named;  // by Fidelis id
  if (row.customer_id) {
    FIDELIS_ASSIGN_OR_RETURN(named, customers::survivor(tx, *row.customer_id));
    if (!named) return Error::invalid_argument("customer_id", no_customer_reason(*row.customer_id));
  }
  std::optional<int64_t> owner_of_id;
  for (const customers::ExternalId& x : row.input.external_ids.value_or(std::vector<customers::ExternalId>{})) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<customers::ExternalIdOwner> owner, customers::external_id_owner(tx, x.source, x.id));
    if (owner && owner->deleted)
      return Error::invalid_argument(x.source == source ? "external_ids" : "external_ids[]",
                                     deleted_owner_reason(x, x.source == source, owner->customer_id));
    if (owner && !named && !owner_of_id) owner_of_id = owner->customer_id;
    // An id another customer than the row's has stays with it, flagged.
    if (owner && owner->customer_id != named.value_or(owner_of_id.value_or(0)))
      flags.push_back({"external_id", x.source + ":" + x.id, already_used_reason(owner->customer_id)});
  }
  if (named) return leaving(named, PreviewMatch{"update", "customer_id", {*named}, std::nullopt});
  if (owner_of_id) return leaving(owner_of_id, PreviewMatch{"update", "external_id", {*owner_of_id}, std::nullopt});
  const dedup::Record record = row_keys(row.input, false).record;
  std::optional<merging::Candidate> duplicate;
  PreviewMatch review{"review", "model", {}, std::nullopt};
  if (dedup) {
    FIDELIS_ASSIGN_OR_RETURN(std::vector<merging::Candidate> found, merging::find_candidates(tx, record, model));
    for (const merging::Candidate& c : found) {
      if (c.decision == dedup::Decision::kMerge && !duplicate) duplicate = c;
      if (c.decision != dedup::Decision::kReview) continue;
      review.customers.push_back(c.customer_id);
      if (!review.score) review.score = c.score;
    }
  }
  // Another e-mail of the row that a customer has makes that customer a candidate, scored with that
  // address as the row's.
  for (size_t i = 1; dedup && !duplicate && i < owners.size(); ++i) {
    const std::optional<int64_t>& owner = owners[i];
    if (!owner || std::find(review.customers.begin(), review.customers.end(), *owner) != review.customers.end()) continue;
    dedup::Record as_owned = record;
    as_owned.email = emails[i].email;
    FIDELIS_ASSIGN_OR_RETURN(std::vector<merging::Candidate> scored,
                             merging::score_candidates(tx, as_owned, std::span<const int64_t>(&*owner, 1), model, 0));
    for (const merging::Candidate& c : scored) {
      if (c.decision == dedup::Decision::kMerge) duplicate = c;
      else if (c.decision == dedup::Decision::kReview) {
        review.customers.push_back(c.customer_id);
        review.score = std::max(review.score.value_or(c.score), c.score);  // the best candidate's
      }
    }
  }
  // The row's e-mails another customer has stay with their owners; a row left with nothing else
  // to know its person by is that customer when all are one customer's, else rejected.
  std::set<int64_t> others;
  bool email_left = false;
  for (const std::optional<int64_t>& owner : owners) {
    if (owner && (!duplicate || *owner != duplicate->customer_id)) others.insert(*owner);
    else email_left = true;
  }
  if (only_emails_identify(row.input) && !email_left && !others.empty()) {
    if (dedup && others.size() == 1) return PreviewMatch{"update", "email", {*others.begin()}, std::nullopt};
    return Error::invalid_argument("emails", emails_taken_reason(dedup));
  }
  if (duplicate) return leaving(duplicate->customer_id, PreviewMatch{"merge", "model", {duplicate->customer_id}, duplicate->score});
  return leaving(std::nullopt, review.customers.empty() ? std::nullopt : std::optional(review));
}

// Makes `in` empty the fields of `blank` (BuiltRow::blank): a row of the customer's own export
// whose cells were emptied in the spreadsheet.
void empty_blank_fields(CustomerInput& in, const std::vector<std::string>& blank) {
  for (const std::string& f : blank) {
    if (f.starts_with("custom_fields.")) {
      if (!in.custom_fields) in.custom_fields.emplace();
      (*in.custom_fields)[f.substr(14)] = std::nullopt;
    } else if (f == "household") {
      in.household.emplace();  // an empty list: no member left
    } else if (f == "affinities") {
      in.affinities.emplace();
    } else if (f == "tags") {
      in.tags.emplace();
    } else if (f == "emails") {
      in.emails.emplace();
    } else if (f == "phones") {
      in.phones.emplace();
    } else {
      in.clear.push_back(f);
    }
  }
}

// A row of the customer's own export, read with the rank to overwrite: its emptied cells empty
// their fields (empty_blank_fields), and it replaces the e-mail and phone lists (merge_into's
// replace_lists) where the file gives them whole (two columns or more: the export's `email` and
// `other_emails`). A file with one e-mail column (a narrow edit: id, names, email) gives the main
// address only: a changed one becomes the main, and every other address of the customer stays
// after it, the former main one included, as no column of the file gives them. Phones alike. A
// number the row gives that reads as no valid number (kept as given and flagged) replaces none of
// the customer's: it is left out, unless the customer already has it.
Status prepare_own_row(storage::Tx& tx, int64_t id, CustomerInput& in, std::span<const Column> columns,
                       const std::vector<std::string>& blank) {
  empty_blank_fields(in, blank);
  // Every value of a list cell dropped as malformed (flagged) gives nothing: the customer's list
  // stays. Only an emptied cell (blank) empties it: every e-mail column emptied takes the
  // addresses those columns give (the main one, with a single column), and phones alike.
  auto emptied = [&](std::string_view f) { return std::find(blank.begin(), blank.end(), f) != blank.end(); };
  const bool no_emails = emptied("emails"), no_phones = emptied("phones");
  if (in.emails && in.emails->empty() && !no_emails) in.emails.reset();
  if (in.phones && in.phones->empty() && !no_phones) in.phones.reset();
  if (in.tags && in.tags->empty() && !emptied("tags")) in.tags.reset();
  auto columns_of = [&](Target t) { return std::count_if(columns.begin(), columns.end(), [&](const Column& c) { return c.target == t; }); };
  const bool emails_whole = !in.emails || columns_of(Target::kEmail) > 1;
  const bool phones_whole = !in.phones || columns_of(Target::kPhone) > 1;
  const bool invalid_phone = in.phones && std::any_of(in.phones->begin(), in.phones->end(), [](const Phone& p) { return !p.valid; });
  if (emails_whole && phones_whole && !invalid_phone) return ok();
  int64_t ids[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> found, load_customers_for_export(tx, ids));
  if (found.empty()) return ok();
  const Customer& cur = found[0];
  auto stored_phone = [&](const Phone& p) {
    return std::any_of(cur.phones.begin(), cur.phones.end(), [&](const Phone& c) { return phone_key(c) == phone_key(p); });
  };
  if (in.phones && !no_phones) {
    std::erase_if(*in.phones, [&](const Phone& p) { return !p.valid && !stored_phone(p); });
    if (in.phones->empty()) in.phones.reset();
  }
  // A narrow edit's emptied cell takes the main address (or number) only: the others stay.
  if (!emails_whole)
    for (size_t i = no_emails ? 1 : 0; i < cur.emails.size(); ++i)
      if (std::none_of(in.emails->begin(), in.emails->end(),
                       [&](const EmailAddress& x) { return text::to_lower(x.email) == text::to_lower(cur.emails[i].email); }))
        in.emails->push_back(cur.emails[i]);
  if (!phones_whole && in.phones)
    for (size_t i = no_phones ? 1 : 0; i < cur.phones.size(); ++i)
      if (std::none_of(in.phones->begin(), in.phones->end(), [&](const Phone& p) { return phone_key(p) == phone_key(cur.phones[i]); }))
        in.phones->push_back(cur.phones[i]);
  return ok();
}

// Whether customer `c` has a value for `field`, one of BuiltRow::blank's.
bool holds(const Customer& c, std::string_view field) {
  if (field.starts_with("custom_fields.")) return c.custom_fields.contains(std::string(field.substr(14)));
  if (field == "civility") return c.civility.has_value();
  if (field == "first_name") return c.first_name.has_value();
  if (field == "last_name") return c.last_name.has_value();
  if (field == "birth_date") return c.birth_date.has_value();
  if (field == "street") return c.address.street.has_value();
  if (field == "street2") return c.address.street2.has_value();
  if (field == "postcode") return c.address.postcode.has_value();
  if (field == "city") return c.address.city.has_value();
  if (field == "country") return c.address.country.has_value();
  if (field == "household") return !c.household.empty();
  if (field == "affinities") return !c.affinities.empty();
  if (field == "tags") return !c.tags.empty();
  if (field == "emails") return !c.emails.empty();
  if (field == "phones") return !c.phones.empty();
  return true;  // a field this list does not know: shown, rather than hidden
}

std::string column_for(const std::string& field, std::span<const Column> columns) {
  Target t = Target::kIgnore;
  if (field.starts_with("emails")) t = Target::kEmail;
  else if (field.starts_with("phones")) t = Target::kPhone;
  else if (field == "first_name") t = Target::kFirstName;
  else if (field == "last_name") t = Target::kLastName;
  else if (field == "birth_date") t = Target::kBirthDate;
  else if (field == "civility") t = Target::kCivility;
  else if (field.starts_with("address.postcode")) t = Target::kPostcode;
  else if (field.starts_with("address.city")) t = Target::kCity;
  else if (field.starts_with("address.street")) t = Target::kStreet;
  else if (field == "external_ids[]") t = Target::kExternalIds;
  else if (field.starts_with("external_ids")) t = Target::kExternalId;
  else if (field == "customer_id") t = Target::kCustomerId;
  for (const Column& c : columns)
    if (c.target == t && t != Target::kIgnore) return c.header;
  return field;
}

// The flag of a consent the import did not record for the customer (screen_import_consents): one
// the customer withdrew, or a withdrawal older than the consent the customer gave.
Flag consent_flag(const Consent& c, const std::string& why) {
  return Flag{fmt::format("consent:{}:{}", channel_name(c.channel), purpose_name(c.purpose)), c.granted ? "yes" : "no", why};
}

// The country given to rows without one: empty, or an ISO 3166-1 alpha-2 code (any case).
Result<std::string> default_country_of(const ImportOptions& o) {
  std::string c = text::to_upper(text::trim(o.default_country));
  if (!c.empty() && !is_country_code(c))
    return Error::invalid_argument("default_country", "expected an ISO 3166-1 alpha-2 code such as FR, BE or CH");
  return c;
}

}  // namespace

Importer::Importer(storage::Db& db, const Clock& clock, const merging::Options& merge_options)
    : db_(db), clock_(clock), model_(merge_options.model),
      rules_(merge_options.rules) {}

namespace {

// ImportOptions::consents read: InvalidArgument naming "consents[i]".
Result<std::vector<std::pair<Channel, Purpose>>> file_consents(const ImportOptions& o) {
  std::vector<std::pair<Channel, Purpose>> out;
  for (size_t i = 0; i < o.consents.size(); ++i) {
    const std::string field = fmt::format("consents[{}]", i);
    if (o.consents[i].find(':') == std::string::npos)
      return Error::invalid_argument(field, "expected CHANNEL:PURPOSE, e.g. email:newsletter");
    FIDELIS_ASSIGN_OR_RETURN(ConsentSpec c, read_consent_spec(o.consents[i], field, false));
    if (std::find(out.begin(), out.end(), std::pair{c.channel, *c.purpose}) != out.end())
      return Error::invalid_argument(field, "names a consent twice");
    out.emplace_back(c.channel, *c.purpose);
  }
  return out;
}

}  // namespace

Result<std::string> Importer::checked_source(const ImportOptions& o) const {
  std::string source = text::to_lower(text::trim(o.source));
  if (source.empty() || source.size() > 50 ||
      !std::all_of(source.begin(), source.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      }))
    return Error::invalid_argument("source", "a source name is 1 to 50 of a-z, 0-9, '-', '_' and '.'");
  if (o.source_priority && (*o.source_priority < 0 || *o.source_priority > 100))
    return Error::invalid_argument("priority", "must be between 0 and 100");
  if (o.batch_rows < 1) return Error::invalid_argument("batch_rows", "must be at least 1");
  FIDELIS_RETURN_IF_ERROR(default_country_of(o));
  FIDELIS_RETURN_IF_ERROR(file_consents(o));
  if (o.bulk == BulkMode::kOn && db_.dialect() != storage::Dialect::kSqlite)
    return Error::invalid_argument("bulk", "a bulk load is for SQLite: PostgreSQL imports keep their indexes");
  return source;
}

Result<int64_t> Importer::enqueue(const ImportOptions& o) {
  FIDELIS_ASSIGN_OR_RETURN(std::string source, checked_source(o));
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<CsvSource> src, CsvSource::open(o.path));
  FIDELIS_ASSIGN_OR_RETURN(std::vector<CustomFieldDef> defs, CustomerService(db_, clock_).custom_fields());
  FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> header, src->next());
  if (!header) return Error::invalid_argument("file", "the file is empty");
  FIDELIS_RETURN_IF_ERROR(map_columns(header->fields, o.mapping, defs));
  const std::string fp = fingerprint(o.path, src->size());
  const Millis now = clock_.now();
  int64_t id = 0;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(record_source(tx, source, o.source_priority, now));
    FIDELIS_RETURN_IF_ERROR(tx.lock_key("import:" + source + ":" + fp));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> prev, unfinished_import(tx, fp, source, 0));
    if (prev && prev->str(2) == "running" && worker_alive(prev->str(3), prev->i64(4), now, &db_, prev->i64(0)))
      return running_elsewhere(prev->i64(0), source, prev->str(3));
    if (prev) {
      id = prev->i64(0);
      return ok();
    }
    FIDELIS_ASSIGN_OR_RETURN(id, insert_import(tx, o, source, fp, *src, "queued", "", now));
    return ok();
  }));
  return id;
}

Result<Preview> Importer::preview(const ImportOptions& o, int rows) {
  // A dry run refuses what the import would refuse.
  FIDELIS_ASSIGN_OR_RETURN(std::string source, checked_source(o));
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<CsvSource> src, CsvSource::open(o.path));
  FIDELIS_ASSIGN_OR_RETURN(std::vector<CustomFieldDef> defs, CustomerService(db_, clock_).custom_fields());
  FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> header, src->next());
  if (!header) return Error::invalid_argument("file", "the file is empty");
  Preview p;
  p.dialect = src->dialect();
  FIDELIS_ASSIGN_OR_RETURN(p.columns, map_columns(header->fields, o.mapping, defs));
  FIDELIS_ASSIGN_OR_RETURN(p.warnings, settle_columns(o.path, p.columns, defs));
  FIDELIS_ASSIGN_OR_RETURN(std::string country, default_country_of(o));
  RowOptions ro{source, country, clock_.now(), o.mx};
  FIDELIS_ASSIGN_OR_RETURN(ro.file_consents, file_consents(o));
  std::optional<int64_t> priority = o.source_priority;  // the source's stored one, read at the first need
  for (int i = 0; i < rows; ++i) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> rec, src->next());
    if (!rec) break;
    PreviewRow pr;
    pr.line = rec->line;
    auto built = build_row(*rec, p.columns, ro, defs);
    if (built) {
      // What the import would do with the row: update, merge, review, or reject it.
      FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
        auto forecast = forecast_match(tx, *built, ro.source, o.dedup, model_, built->flags);
        if (!forecast && forecast.error().code != Code::kInvalidArgument) return forecast.error();
        if (forecast) pr.match = std::move(*forecast);
        else built = forecast.error();
        return ok();
      }));
    }
    if (built && built->input.consents && !built->input.consents->empty() && pr.match &&
        (pr.match->outcome == "update" || pr.match->outcome == "merge")) {
      // The consents the import would refuse for the customer the row updates or merges into,
      // shown flagged as the import would flag them.
      FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
        FIDELIS_ASSIGN_OR_RETURN(ScreenedConsents screened,
                                 screen_import_consents(tx, pr.match->customers.front(), *built->input.consents));
        for (const auto& [c, why] : screened.refused) {
          built->flags.push_back(consent_flag(c, why));
          std::erase_if(*built->input.consents,
                        [&](const Consent& k) { return k.channel == c.channel && k.purpose == c.purpose; });
        }
        return ok();
      }));
    }
    if (built && pr.match && (pr.match->outcome == "update" || pr.match->outcome == "merge")) {
      // Whether the row brings the customer anything new, as the import would find it: a row that
      // does not is counted unchanged and writes nothing (a nightly file sent again). And for a row
      // of the customer's own export, with the rank to overwrite, the fields its emptied cells
      // would empty.
      FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
        const int64_t id = pr.match->customers.front();
        CustomerInput in = built->input;
        customers::Replace replace = Replace::kValues;
        bool own_row = false;
        if (pr.match->outcome == "update") {
          if (!priority) {
            Value sp[] = {source};
            FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> stored,
                                     tx.one("SELECT priority FROM sources WHERE name = $1", sp));
            priority = stored ? stored->i64(0) : 50;
          }
          FIDELIS_ASSIGN_OR_RETURN(int ranks, merging::source_rank(tx, id));
          replace = replace_for(static_cast<int>(*priority), ranks);
          own_row = replace == Replace::kValues && built->customer_id.has_value();
          if (own_row) FIDELIS_RETURN_IF_ERROR(prepare_own_row(tx, id, in, p.columns, built->blank));
        }
        FIDELIS_ASSIGN_OR_RETURN(MergeOutcome probe, merge_into(tx, id, in, replace, ro.now, own_row, /*dry_run=*/true));
        pr.match->changes = probe.changed;
        if (own_row)  // a dry run's outcome is the customer as stored now
          for (const std::string& f : built->blank)
            if (holds(probe.customer, f)) pr.empties.push_back(f);
        return ok();
      }));
    }
    if (built) {
      pr.customer = built->input;
      pr.flags = built->flags;
    } else {
      Error e = built.error();
      e.field = column_for(e.field, p.columns);
      pr.rejection = e;
    }
    p.rows.push_back(std::move(pr));
  }
  return p;
}

Result<ImportStatus> Importer::run(const ImportOptions& o, const audit::Actor& actor) {
  FIDELIS_ASSIGN_OR_RETURN(std::string source, checked_source(o));
  FIDELIS_ASSIGN_OR_RETURN(std::string country, default_country_of(o));
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<CsvSource> src, CsvSource::open(o.path));
  FIDELIS_ASSIGN_OR_RETURN(std::vector<CustomFieldDef> defs, CustomerService(db_, clock_).custom_fields());
  FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> header, src->next());
  if (!header) return Error::invalid_argument("file", "the file is empty");
  FIDELIS_ASSIGN_OR_RETURN(std::vector<Column> columns, map_columns(header->fields, o.mapping, defs));
  FIDELIS_ASSIGN_OR_RETURN(std::vector<std::string> warnings, settle_columns(o.path, columns, defs));

  const Millis start = clock_.now();
  Millis began = start;  // the import's first start, when this run resumes it
  const std::string file_name = file_name_of(o);
  const std::string fp = fingerprint(o.path, src->size());
  int64_t import_id = 0, records_done = 1;
  bool resumed = false, already_done = false;
  std::string file_changed;  // why the import resumed cannot go on, when its file is another
  int source_priority = 50;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(source_priority, record_source(tx, source, o.source_priority, start));
    // One run at a time per file and source, across processes (the CLI beside the server).
    FIDELIS_RETURN_IF_ERROR(tx.lock_key("import:" + source + ":" + fp));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> prev, unfinished_import(tx, fp, source, o.import_id));
    if (o.import_id && (!prev || prev->str(2) == "done")) {
      // The queued import was carried out meanwhile (by the CLI, say): nothing is left to do.
      already_done = true;
      import_id = o.import_id;
      return ok();
    }
    if (prev && prev->str(2) == "running" && worker_alive(prev->str(3), prev->i64(4), start, &db_, prev->i64(0)))
      return running_elsewhere(prev->i64(0), source, prev->str(3));
    if (o.import_id && prev->str(6) != fp) {
      // The file at the import's path was replaced or edited since it began: resuming would skip
      // the new file's first records as if imported. The import fails, saying so.
      file_changed = file_changed_reason(o.path, prev->i64(1));
      FIDELIS_RETURN_IF_ERROR(mark_failed(tx, o.import_id, file_changed, start));
      return ok();
    }
    FIDELIS_RETURN_IF_ERROR(
        fail_imports_of_replaced_file(tx, std::filesystem::absolute(o.path).string(), source, fp, start, &db_));
    if (prev) {
      import_id = prev->i64(0);
      records_done = std::max<int64_t>(1, prev->i64(1));
      began = prev->i64(5);
      resumed = prev->str(2) != "queued" || records_done > 1;
      Value up[] = {import_id, start, this_worker()};
      return tx.exec("UPDATE imports SET status = 'running', error = NULL, updated_at = $2, worker = $3 WHERE id = $1", up)
                 .has_value()
                 ? ok()
                 : Status(Error::internal("cannot resume the import"));
    }
    FIDELIS_ASSIGN_OR_RETURN(import_id, insert_import(tx, o, source, fp, *src, "running", this_worker(), start));
    return ok();
  }));
  if (!file_changed.empty()) return Error::failed_precondition("file", file_changed);
  if (already_done) {
    FIDELIS_ASSIGN_OR_RETURN(ImportStatus done, status(import_id));
    return done;
  }
  if (!warnings.empty()) {
    std::string joined;
    for (const std::string& w : warnings) {
      if (!joined.empty()) joined += '\n';
      joined += w;
    }
    Value wp[] = {import_id, joined};
    if (auto r = db_.exec("UPDATE imports SET warnings = $2 WHERE id = $1", wp); !r) return r.error();
  }
  // Whether a row may be rejected for an id of a deleted customer (then rows with ids keep their text).
  bool ids_of_deleted = false;
  {
    Value p[] = {source};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> any,
                             db_.one("SELECT 1 FROM customer_external_ids x JOIN customers c ON c.id = x.customer_id "
                                     "WHERE x.source = $1 AND c.deleted_at IS NOT NULL LIMIT 1",
                                     p));
    ids_of_deleted = any.has_value();
  }
  {
    std::lock_guard lock(running_here().mu);
    running_here().ids.insert({&db_, import_id});
  }
  struct Release {
    const void* db;
    int64_t id;
    ~Release() {
      std::lock_guard lock(running_here().mu);
      running_here().ids.erase({db, id});
    }
  } release{&db_, import_id};

  if (o.on_started) o.on_started(import_id);
  // Skip what an earlier run committed: records 2..records_done (1 is the header). The first record
  // past them (records_done itself may be one of empty cells, which next() skips) is kept for the
  // first batch.
  std::optional<CsvRecord> first_after;
  while (records_done > 1) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<CsvRecord> rec, src->next());
    if (!rec || rec->number == records_done) break;
    if (rec->number > records_done) {
      first_after = std::move(rec);
      break;
    }
  }

  RowOptions ro{source, country, start, o.mx};
  FIDELIS_ASSIGN_OR_RETURN(ro.file_consents, file_consents(o));
  int64_t batches = 0;
  auto t0 = std::chrono::steady_clock::now();
  Status outcome = ok();
  // Rows are read and built on another thread while the previous batch is written: parsing,
  // validation and phone numbers are CPU work the database thread need not wait for.
  struct Built {
    std::vector<Pending> rows;
    int64_t last_number = 0;
    int64_t bytes = 0;
    bool end = false;
    Status status = ok();
  };
  const char delimiter = src->dialect().delimiter;
  // Set once the run knows it matches in memory: the reading threads then hash the rows' keys too.
  std::atomic<bool> want_hashes{false};
  auto build_batch = [&, last = records_done]() mutable {
    Built b;
    b.last_number = last;
    b.rows.reserve(static_cast<size_t>(std::min<int64_t>(o.batch_rows, 100'000)));
    while (static_cast<int64_t>(b.rows.size()) < o.batch_rows) {
      Result<std::optional<CsvRecord>> rec = first_after ? Result<std::optional<CsvRecord>>(std::move(first_after)) : src->next();
      first_after.reset();
      if (!rec) {
        b.status = rec.error();
        b.end = true;
        break;
      }
      if (!*rec) {
        b.end = true;
        break;
      }
      Pending p;
      p.line = (*rec)->line;
      b.last_number = (*rec)->number;
      auto built = build_row(**rec, columns, ro, defs);
      if (built) {
        // Such a row may yet be rejected (its e-mails belonging to several others, its id to a
        // deleted customer): its text is kept.
        bool other_ids = built->input.external_ids && built->input.external_ids->size() > (built->external_id ? 1u : 0u);
        if (only_emails_identify(built->input) || (ids_of_deleted && built->external_id) || other_ids || built->customer_id)
          p.fields = (*rec)->fields;
        p.keys = row_keys(built->input, want_hashes.load());
        p.row = std::move(*built);
      } else {
        Error e = built.error();
        e.field = column_for(e.field, columns);
        p.rejection = e;
        p.fields = std::move((*rec)->fields);
        p.raw = std::move((*rec)->raw);
      }
      b.rows.push_back(std::move(p));
    }
    last = b.last_number;
    b.bytes = src->bytes_read();
    return b;
  };
  const int64_t first_byte = src->bytes_read();
  MatchPlan plan;
  std::future<Built> next_batch = std::async(std::launch::async, build_batch);
  // The batch written last time is freed by the thread that built the rows, not by the writer:
  // freeing a whole batch is work the database thread need not do (and glibc frees faster in the
  // arena that allocated).
  Built written;
  while (true) {
    Built built = next_batch.get();
    if (!built.end)
      next_batch = std::async(std::launch::async, [&build_batch, old = std::move(written)]() mutable {
        old = Built{};
        return build_batch();
      });
    else
      written = Built{};
    std::vector<Pending>& batch = built.rows;
    int64_t last_number = built.last_number;
    bool end = built.end;
    if (!built.status) outcome = built.status;
    if (!plan.matcher) {
      // The rest of the file holds about as many rows per byte as its first batch.
      int64_t rows = static_cast<int64_t>(batch.size()), used = std::max<int64_t>(1, built.bytes - first_byte);
      int64_t estimated = end ? rows : rows + rows * std::max<int64_t>(0, src->size() - built.bytes) / used;
      // Nothing left to read (an empty file, a finished import resumed): nothing to load in bulk.
      auto planned = plan_matching(db_, batch.empty() && end ? BulkMode::kOff : o.bulk, model_, estimated);
      if (!planned) {
        outcome = planned.error();
        break;
      }
      plan = std::move(*planned);
      want_hashes = plan.matcher->wants_hashes();
      if (plan.dropped) {
        Value b[] = {import_id};
        if (auto r = db_.exec("UPDATE imports SET bulk = 1 WHERE id = $1", b); !r) {
          outcome = r.error();
          break;
        }
      }
    }
    RowMatcher& matcher = *plan.matcher;
    if (matcher.wants_hashes())
      for (Pending& p : batch)
        if (p.row && !p.keys.hashed) p.keys = row_keys(p.row->input, true);
    if (!batch.empty()) {
      Millis now = clock_.now();
      Status st = db_.transact([&](storage::Tx& tx) -> Status {
        int64_t accepted = 0, updated = 0, merged = 0, unchanged = 0, rejected = 0, flagged = 0, queued = 0;
        FIDELIS_RETURN_IF_ERROR(matcher.batch_begins(tx));
        for (Pending& p : batch) {
          auto reject = [&](std::string column, std::string reason) -> Status {
            Value r[] = {import_id, p.line, std::move(column), std::move(reason),
                         p.raw.empty() ? csv_line(p.fields, delimiter) : p.raw};
            ++rejected;
            FIDELIS_RETURN_IF_ERROR(tx.exec(
                "INSERT INTO import_rejects (import_id, line, column_name, reason, raw) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (import_id, line) DO NOTHING",
                r));
            return ok();
          };
          if (p.rejection) {
            FIDELIS_RETURN_IF_ERROR(reject(p.rejection->field, p.rejection->message));
            continue;
          }
          BuiltRow& row = *p.row;
          if (row.input.emails)  // brought by this import, unless the customer already has them
            for (EmailAddress& e : *row.input.emails) e.import_id = import_id;
          std::optional<int64_t> match;
          // A row naming its customer by Fidelis id (an export edited and imported back) updates it,
          // or the customer it was merged into since.
          if (row.customer_id) {
            FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> live, customers::survivor(tx, *row.customer_id));
            if (!live) {
              FIDELIS_RETURN_IF_ERROR(reject(column_for("customer_id", columns), no_customer_reason(*row.customer_id)));
              continue;
            }
            match = live;
          }
          // The same record of a source (the import's own id, or ids in other sources the row
          // names): an update, not a duplicate, even without duplicate matching: an id is its
          // record's identity, not a guess. A record whose customer was deleted is not brought back
          // by its source: rejected, naming the customer. An id of another source that another
          // customer holds stays with it (flagged).
          bool rejected_by_id = false;
          if (row.input.external_ids) {
            std::vector<customers::ExternalId> kept;
            for (customers::ExternalId& x : *row.input.external_ids) {
              FIDELIS_ASSIGN_OR_RETURN(std::optional<customers::ExternalIdOwner> owner,
                                       customers::external_id_owner(tx, x.source, x.id));
              if (owner && owner->deleted) {
                FIDELIS_RETURN_IF_ERROR(reject(column_for(x.source == source ? "external_ids" : "external_ids[]", columns),
                                               deleted_owner_reason(x, x.source == source, owner->customer_id)));
                rejected_by_id = true;
                break;
              }
              if (owner && !match) match = owner->customer_id;
              if (owner && *match != owner->customer_id) {
                row.flags.push_back({"external_id", x.source + ":" + x.id,
                                     already_used_reason(owner->customer_id)});
                continue;
              }
              kept.push_back(std::move(x));
            }
            if (rejected_by_id) continue;
            row.input.external_ids = std::move(kept);
          }
          // Otherwise the probabilistic model decides: merge, review, or a new customer.
          std::optional<merging::Candidate> duplicate;
          std::vector<merging::Candidate> to_review;
          if (o.dedup && !match) {
            FIDELIS_ASSIGN_OR_RETURN(std::vector<merging::Candidate> found, matcher.candidates(tx, p.keys));
            for (auto& c : found) {
              if (c.decision == dedup::Decision::kMerge && !duplicate) duplicate = c;
              else if (c.decision == dedup::Decision::kReview) to_review.push_back(std::move(c));
            }
          }
          // The model compares the row's main e-mail; another of its e-mails owned by a customer
          // (a person's second address) makes that customer a candidate too, scored with that
          // address as the row's: merged or reviewed as the model decides.
          // The owner of each of the row's e-mails, looked up once.
          std::vector<std::optional<int64_t>> owners;
          if (row.input.emails) {
            for (const auto& e : *row.input.emails) {
              FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> owner, matcher.email_owner(tx, e.email));
              owners.push_back(owner);
            }
          }
          if (o.dedup && !match && !duplicate && owners.size() > 1) {
            for (size_t i = 1; i < owners.size() && !duplicate; ++i) {
              const std::string& email = (*row.input.emails)[i].email;
              const std::optional<int64_t>& owner = owners[i];
              if (!owner || std::any_of(to_review.begin(), to_review.end(),
                                        [&](const merging::Candidate& c) { return c.customer_id == *owner; }))
                continue;
              dedup::Record as_owned = p.keys.record;
              as_owned.email = email;
              FIDELIS_ASSIGN_OR_RETURN(std::vector<merging::Candidate> scored,
                                       merging::score_candidates(tx, as_owned, std::span<const int64_t>(&*owner, 1), model_, 0));
              for (auto& c : scored) {
                if (c.decision == dedup::Decision::kMerge) duplicate = c;
                else if (c.decision == dedup::Decision::kReview) to_review.push_back(std::move(c));
              }
            }
          }
          std::optional<int64_t> keeper = match;
          if (!keeper && duplicate) keeper = duplicate->customer_id;
          // An e-mail or an id in the source owned by another customer stays with its owner: flagged,
          // left for review.
          bool emails_dropped = false;
          std::set<int64_t> email_owners;  // of the e-mails left to other customers
          const size_t flags_before = row.flags.size();
          std::optional<std::vector<EmailAddress>> given;  // the row's e-mails, when some were left to others
          if (row.input.emails) {
            std::vector<EmailAddress> kept;
            for (size_t i = 0; i < row.input.emails->size(); ++i) {
              const EmailAddress& e = (*row.input.emails)[i];
              const std::optional<int64_t>& owner = owners[i];
              if (owner && owner != keeper) {
                email_owners.insert(*owner);
                row.flags.push_back({"email", e.email, already_used_reason(*owner)});
              } else {
                kept.push_back(e);
              }
            }
            emails_dropped = kept.size() != row.input.emails->size();
            if (emails_dropped) given = std::move(row.input.emails);
            row.input.emails = std::move(kept);
          }
          // A row that identifies its person only by e-mail addresses, all of one customer's (a
          // newsletter list, say), is that customer: an address belongs to one live customer at most.
          if (o.dedup && !match && email_owners.size() == 1 && only_emails_identify(row.input) &&
              row.input.emails->empty()) {
            match = *email_owners.begin();
            row.input.emails = std::move(given);
            row.flags.resize(flags_before);
            emails_dropped = false;
            to_review.clear();
          }
          int64_t customer_id = 0;
          bool merge_after = false, already_held = false;
          if (match) {
            FIDELIS_ASSIGN_OR_RETURN(int ranks, merging::source_rank(tx, *match));
            const customers::Replace replace = replace_for(source_priority, ranks);
            // A row naming its customer by Fidelis id is that customer's own row (an export edited
            // and imported back): with the rank to overwrite, its e-mails, phones and tags are the lists.
            const bool own_row = replace == Replace::kValues && row.customer_id.has_value();
            // Its cells emptied in the spreadsheet empty the fields (a wrong birth date taken off).
            if (own_row) FIDELIS_RETURN_IF_ERROR(prepare_own_row(tx, *match, row.input, columns, row.blank));
            FIDELIS_ASSIGN_OR_RETURN(MergeOutcome m, merge_into(tx, *match, row.input, replace, now, own_row));
            customer_id = m.customer.id;
            for (const auto& [c, why] : m.refused_consents) row.flags.push_back(consent_flag(c, why));
            if (m.changed) {
              FIDELIS_RETURN_IF_ERROR(matcher.stored(tx, customer_id, p.keys, /*reread=*/true));
              ++updated;
            } else {
              ++unchanged;
            }
          } else {
            if (only_emails_identify(row.input) && (!row.input.emails || row.input.emails->empty())) {
              FIDELIS_RETURN_IF_ERROR(reject(column_for("emails", columns), emails_taken_reason(o.dedup)));
              continue;
            }
            // A duplicate is stored as its own record first, then merged: the merge is recorded and
            // can be undone, and survivorship weighs this source's priority. Its consents are the
            // import's word on the customer it joins: one that customer withdrew is not given back.
            if (duplicate && row.input.consents) {
              FIDELIS_ASSIGN_OR_RETURN(ScreenedConsents screened,
                                       screen_import_consents(tx, duplicate->customer_id, *row.input.consents));
              for (const auto& [c, why] : screened.refused) row.flags.push_back(consent_flag(c, why));
              FIDELIS_RETURN_IF_ERROR(record_statements(tx, duplicate->customer_id, screened.statements, now));
              row.input.consents = std::move(screened.news);  // what it already has stays as it has it
            }
            // A row that brings its duplicate nothing new (the same customer in a nightly file
            // without ids) is that customer as it is: no record, no merge, no version.
            if (duplicate) {
              FIDELIS_ASSIGN_OR_RETURN(MergeOutcome probe, merge_into(tx, duplicate->customer_id, row.input,
                                                                      Replace::kValues, now, false, /*dry_run=*/true));
              if (!probe.changed) {
                customer_id = duplicate->customer_id;
                already_held = true;
                ++unchanged;
              }
            }
            if (!already_held) {
              FIDELIS_ASSIGN_OR_RETURN(Customer c, create_in(tx, row.input, now));
              customer_id = c.id;
              merge_after = duplicate.has_value();
              if (!merge_after) ++accepted;
            }
          }
          Value prov[] = {customer_id, import_id, p.line, source, now};
          FIDELIS_RETURN_IF_ERROR(tx.exec(
              "INSERT INTO customer_provenance (customer_id, import_id, line, source, at) VALUES ($1, $2, $3, $4, $5) "
              "ON CONFLICT (customer_id, import_id, line) DO NOTHING",
              prov));
          for (const Flag& f : row.flags) {
            Value fl[] = {customer_id, f.field, f.value, f.reason, source, now};
            FIDELIS_RETURN_IF_ERROR(tx.exec(
                "INSERT INTO customer_flags (customer_id, field, value, reason, source, at) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (customer_id, field, value) DO UPDATE SET reason = excluded.reason, source = excluded.source, "
                "at = excluded.at",
                fl));
          }
          if (!row.flags.empty()) ++flagged;
          // A new customer's keys are the row's, unless e-mails were left to their owners; a merge
          // mixes both profiles, so its keys are read back as stored.
          if (already_held) continue;  // its keys and its pairs are the base's already
          if (!match && !merge_after)
            FIDELIS_RETURN_IF_ERROR(matcher.stored(tx, customer_id, p.keys, /*reread=*/emails_dropped));
          if (merge_after) {
            merging::MergeRequest req{duplicate->customer_id, customer_id, duplicate->customer_id, "auto",
                                      fmt::format("import:{}", import_id), duplicate->score, began};
            FIDELIS_ASSIGN_OR_RETURN(merging::MergeRecord m, merging::merge_in(tx, req, rules_, actor, now));
            FIDELIS_RETURN_IF_ERROR(matcher.stored(tx, m.winner_id, p.keys, /*reread=*/true));
            (void)m;
            ++merged;
          } else {
            bool any = false;
            for (const auto& c : to_review) {
              FIDELIS_ASSIGN_OR_RETURN(bool q, merging::queue_review_in(tx, c.customer_id, customer_id, c, model_,
                                                                        fmt::format("import:{}", import_id), now));
              any = any || q;
            }
            if (any) ++queued;
          }
        }
        Value up[] = {import_id, last_number, built.bytes, accepted, merged, rejected, flagged, now, queued, unchanged, updated};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "UPDATE imports SET records_done = $2, bytes_done = $3, accepted = accepted + $4, merged = merged + $5, "
            "rejected = rejected + $6, flagged = flagged + $7, updated_at = $8, queued = queued + $9, "
            "unchanged = unchanged + $10, updated = updated + $11 WHERE id = $1",
            up));
        return matcher.batch_ends(tx);
      });
      if (!st) {
        outcome = st;
        break;
      }
      matcher.batch_committed();
      records_done = last_number;
      ++batches;
      if (o.progress) {
        auto s = status(import_id);
        if (s) {
          double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (secs > 0) {
            s->rows_per_second = static_cast<double>(batches * o.batch_rows) / secs;
            double bytes_rate = static_cast<double>(s->bytes_done) / secs;
            if (bytes_rate > 0) s->eta_seconds = static_cast<double>(s->bytes_total - s->bytes_done) / bytes_rate;
          }
          s->resumed = resumed;
          s->bulk = plan.dropped;
          o.progress(*s);
        }
      }
      // A stop is the server shutting down (or, in tests, a simulated crash): the indexes a bulk
      // load set aside come back at the next start, which resumes the import.
      if ((o.stop_after_batches && batches >= *o.stop_after_batches) || (o.should_stop && o.should_stop())) {
        Value mark[] = {import_id, clock_.now()};
        (void)db_.transact([&](storage::Tx& tx) -> Status {
          FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE imports SET status = 'interrupted', updated_at = $2 WHERE id = $1", mark));
          return ok();
        });
        auto s = status(import_id);
        if (s) s->status = "interrupted";
        return s;
      }
    }
    written = std::move(built);
    if (end) break;
  }

  // The indexes come back before the import says it is done (a crash or a stop leaves them to the
  // next start).
  if (plan.dropped) {
    log::info("bulk load written; rebuilding the search indexes",
              {{"import", std::to_string(import_id)},
               {"key_index_mib", fmt::format("{:.0f}", static_cast<double>(plan.matcher->memory_bytes()) / 1048576.0)}});
    if (o.progress) {
      if (auto s = status(import_id)) {
        s->bulk = true;
        s->phase = "indexes";
        o.progress(*s);
      }
    }
    if (Status st = storage::restore_bulk_indexes(db_); !st && outcome) outcome = st;
    if (Status st = db_.set_bulk_loading(false); !st && outcome) outcome = st;
  }
  Millis done_at = clock_.now();
  std::string rejects_path = o.rejects_path.empty() ? o.path + ".rejects.csv" : o.rejects_path;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    Value up[] = {import_id, std::string(outcome ? "done" : "failed"),
                  outcome ? storage::null() : Value(outcome.error().field + ": " + outcome.error().message), done_at};
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("UPDATE imports SET status = $2, error = $3, updated_at = $4, finished_at = $4 WHERE id = $1", up));
    return audit::record(tx, actor,
                         {"import.run", "import", std::to_string(import_id), std::nullopt,
                          fmt::format(R"({{"source":"{}","file":"{}","status":"{}"}})", source, file_name,
                                      outcome ? "done" : "failed")},
                         done_at);
  }));
  FIDELIS_ASSIGN_OR_RETURN(ImportStatus final_status, status(import_id));
  // Only an import that rejected rows writes the file: a clean run leaves an earlier one as it is.
  if (final_status.rejected > 0) {
    FIDELIS_RETURN_IF_ERROR(write_rejects(import_id, rejects_path));
    final_status.rejects_path = rejects_path;
  }
  final_status.resumed = resumed;
  final_status.bulk = plan.dropped;
  if (!outcome) log::warn("import failed", {{"import", std::to_string(import_id)}, {"error", outcome.error().message}});
  return final_status;
}

Result<ImportStatus> Importer::status(int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one(fmt::format("SELECT {} FROM imports WHERE id = $1", kStatusColumns), p));
  if (!row) return Error::not_found("id", fmt::format("no import {}", id));
  return status_from_row(*row);
}

Result<std::vector<Provenance>> Importer::provenance(int64_t customer_id, int limit) {
  std::vector<Provenance> out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    Value c[] = {customer_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> live,
                             tx.one("SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL", c));
    if (!live) return Error::not_found("id", fmt::format("no customer {}", customer_id));
    Value p[] = {customer_id, int64_t{limit}};
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.query("SELECT p.import_id, p.source, i.file_name, p.line, p.at FROM customer_provenance p JOIN imports i ON "
                 "i.id = p.import_id WHERE p.customer_id = $1 ORDER BY p.at DESC, p.import_id DESC, p.line DESC LIMIT $2",
                 p));
    for (const auto& r : rows.rows) out.push_back({r.i64(0), r.str(1), r.str(2), r.i64(3), r.i64(4)});
    return ok();
  }));
  return out;
}

Result<std::vector<ImportStatus>> Importer::list(int limit) {
  Value p[] = {int64_t{limit}};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                           db_.query(fmt::format("SELECT {} FROM imports ORDER BY id DESC LIMIT $1", kStatusColumns), p));
  std::vector<ImportStatus> out;
  for (const auto& r : rows.rows) out.push_back(status_from_row(r));
  return out;
}

Result<std::string> Importer::rejects_csv(int64_t id, ExportFormat format) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                           db_.query("SELECT line, column_name, reason, raw FROM import_rejects WHERE import_id = $1 "
                                     "ORDER BY line",
                                     p));
  const bool excel = format == ExportFormat::kCsvExcelFr;
  const char delim = excel ? ';' : ',';
  std::string header[] = {"line", "column", "reason", "original"};
  std::string out = (excel ? "\xEF\xBB\xBF" : "") + csv_line(header, delim) + "\r\n";
  for (const auto& r : rows.rows) {
    std::string fields[] = {r.str(0), r.str(1), r.str(2), r.str(3)};
    // Column names, reasons and lines quote the sender's text: in a spreadsheet, none may run as a formula.
    if (excel)
      for (std::string& f : fields) f = spreadsheet_text(std::move(f));
    out += csv_line(fields, delim) + "\r\n";
  }
  return out;
}

Status Importer::write_rejects(int64_t id, const std::string& path) {
  FIDELIS_ASSIGN_OR_RETURN(ImportStatus s, status(id));
  FIDELIS_ASSIGN_OR_RETURN(std::string csv, rejects_csv(id, s.delimiter == ';' ? ExportFormat::kCsvExcelFr : ExportFormat::kCsv));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Error::invalid_argument("rejects", "cannot write " + path);
  bool written = std::fwrite(csv.data(), 1, csv.size(), f) == csv.size();
  std::fclose(f);
  if (!written) return Error::unavailable("cannot write " + path + " (disk full?)");
  return ok();
}

}  // namespace fidelis::imports
