#pragma once
// imports: customer files as people really have them, streamed into the base.
//
// A CSV file is read with libcsv (RFC 4180 quoting), its encoding found with uchardet (UTF-8 with
// or without BOM; Windows-1252 / Latin-1 converted with iconv) and its delimiter (',', ';' or tab)
// guessed from the first lines. Its header row is mapped to profile fields by an explicit mapping
// or by French and English header names. Each row becomes a customer, or is merged into the one it
// matches (same id in the same source, then same e-mail), or is rejected with the column and the
// reason. A malformed optional value (a bad birth date, say) is dropped and flagged on the record,
// not a reason to reject the row.
//
// An import is resumable: rows are committed in batches together with the import's progress, so a
// rerun of the same file for the same source after a crash or a kill continues after the last
// committed row and stores no row twice. Rejected rows are stored with the batch and written to the
// rejects file at the end (line, column, reason, original fields). Memory does not grow with the
// file.
//
// Thread-safety: an Importer runs one import at a time per call; several calls may run in
// parallel on different files (they serialise on the database writer on SQLite).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/email.h"
#include "core/result.h"
#include "customers/customers.h"
#include "merging/merging.h"
#include "storage/db.h"

namespace fidelis::imports {

// ---- reading (csv_source.cpp) ----

struct Dialect {
  char delimiter = ',';
  std::string encoding = "UTF-8";  // as iconv names it; the source is converted to UTF-8
  bool bom = false;                // a UTF-8 byte-order mark was skipped
};
// Detects encoding and delimiter from the first bytes of a file.
Dialect detect_dialect(std::string_view sample);

struct CsvRecord {
  int64_t number = 0;  // 1 for the header row
  int64_t line = 0;    // physical line where the record starts (quoted fields may span lines)
  std::vector<std::string> fields;  // UTF-8
  // Set when the record's quoting is broken (a quote inside an unquoted field, text after a
  // closing quote): why, the 0-based column where reading failed, and the record's text as it
  // is in the file. `fields` then holds only the fields read before the break, and the next record
  // is read normally. A quoted field that never closes (it reaches the end of the file, or its
  // record passes 1 MiB of text) is such a record too, of its first line only: the lines after it
  // are read again as records. (A header row with broken quoting is an error of next() instead.)
  std::optional<std::string> malformed;
  size_t malformed_column = 0;
  std::string raw;
};

// Streams records from a file in 1 MiB chunks.
class CsvSource {
 public:
  // NotFound ("file") when the file cannot be opened; InvalidArgument ("file") when it is no text
  // (a workbook, a PDF, binary data), saying what it is. The file is read as it is when opened:
  // bytes appended later are not.
  static Result<std::unique_ptr<CsvSource>> open(const std::string& path);
  ~CsvSource();
  const Dialect& dialect() const;
  int64_t size() const;        // bytes
  int64_t bytes_read() const;  // bytes consumed so far
  // The next record, or nullopt at the end. InvalidArgument ("file") on text that is not valid in
  // the detected encoding, or a header row whose quoting is broken. A record whose every cell is
  // empty or spaces (";;;;" under a spreadsheet's formatted range) is skipped like an empty line;
  // record numbers still count it, so they stay the same whatever the run.
  Result<std::optional<CsvRecord>> next();

 private:
  Result<std::optional<CsvRecord>> next_record();
  struct Impl;
  explicit CsvSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One CSV line with RFC 4180 quoting (no line break at the end).
std::string csv_line(std::span<const std::string> fields, char delimiter);
// The flavours of CSV Fidelis writes (exports, rejects), and JSON Lines for exports.
enum class ExportFormat {
  kCsv,          // UTF-8, ',' , CRLF, RFC 4180
  kCsvExcelFr,   // what French Excel opens directly: ';', CRLF, UTF-8 with BOM, no cell read as a formula
  kJsonLines     // one customer document per line
};
Result<ExportFormat> parse_export_format(std::string_view name, std::string_view field = "format");

// ---- mapping columns to fields (mapping.cpp) ----

enum class Target {
  kIgnore, kCivility, kFirstName, kLastName, kFullName, kEmail, kPhone, kBirthDate, kStreet, kStreet2,
  kPostcode, kCity, kCountry, kExternalId, kTags, kCustom, kConsent, kDeletedAt,
  kExternalIds,  // ids in other systems, "source:id" items separated by '|' (the export's column)
  kCustomerId,   // the customer's Fidelis id: the row updates that customer (mapping only, never guessed)
  kLabel,        // the label of the e-mails or phones of the column named by custom_key (Google
                 // Contacts' "Phone 1 - Label" for "Phone 1 - Value"; guessed only)
  kIsCompany,    // whether the row is a company's (Odoo's "is_company", "Company Type"): a company's
                 // full name is kept whole as its last name, a person's is split
  kOptOut,       // a marketing tool's opt-out ("EMAIL_BLACKLISTED", "Unsubscribed", "UNSUB_TIME"): a yes
                 // or a date withdraws the consents custom_key names ("email": the channel's newsletter
                 // and offers; "email:newsletter": that one), whatever the row's consent columns say
  kConsentDate,  // when the person made the consent decisions of the row that custom_key names (Mailchimp's
                 // "CONFIRM_TIME", "OPTIN_TIME", "Date optin"; "email" for the channel's newsletter and
                 // offers), kept as their source_at; it grants or withdraws nothing by itself
  kHousehold,    // household members, "relation:first name:birth date" items separated by '|' (the export's
                 // column, guessed from its header only)
  kAffinities,   // category affinities, "category:strength" items separated by '|' (strength 0..100, 50 when
                 // left out: "jardin|cuisine")
  kLast = kAffinities  // the last target: arrays indexed by target are this long, plus one
};
std::string_view target_name(Target t);

struct Column {
  std::string header;
  Target target = Target::kIgnore;
  std::string custom_key;  // kCustom: the field's key; kConsent: "channel:purpose" ("email:newsletter");
                           // kOptOut, kConsentDate: "channel" or "channel:purpose"; kLabel: the header of the column
                           // it labels
  // 0 for the plainest name of a field; more for a column that says whose or which it is
  // ("billing_first_name", "Home Street", "Email 2", "Business Phone"). E-mails and phones come in
  // rank order (the main one first); a single-valued field is filled by its lowest-rank column
  // that is not empty in the row (a guest order's billing name, when "first_name" is empty), and
  // the address by the columns of the plainest whose-address (rank / 2) holding any part of one
  // (home before business, billing before shipping; never parts of two).
  int rank = 0;
  // A date column: how its ambiguous dates ("08/01/1975") are read, as settle_columns found the
  // file writes them; `mixed_date_order` when it writes both orders (its ambiguous dates are then
  // read day first and flagged).
  DateOrder date_order = DateOrder::kDayFirst;
  bool mixed_date_order = false;
  // A date column most of whose sampled cells are a spreadsheet's day numbers ("30987"): read as
  // such (date_from_spreadsheet_serial). Elsewhere a five-digit cell is no date (flagged).
  bool day_numbers = false;
  // Guessed only: a column unread until settle_columns finds its values to be phone numbers, then a
  // phone (Brevo's "SMS" holds the mobile; a shop's "SMS" column may hold oui/non).
  bool phone_if_numbers = false;
  // A full-name column whose header gives the surname first ("Nom Prénom", "Nom et prénom"): a
  // cell with no other cue ("Dupont Jean": no capitals, no comma) is read surname first.
  bool surname_first = false;
};

// What a mapping names the column's field: "email", "consent:email:newsletter", "opt_out:sms",
// "label:Phone 1 - Value", a custom field's key.
std::string mapped_field(const Column& c);

// `explicit_mapping`: header -> field name ("first_name", "last_name", "full_name" (first and last
// name in one cell, split), "email", "phone", "birth_date", "street", "street2", "postcode", "city",
// "country", "civility", "external_id" (the record's id in the import's source), "external_ids"
// ("source:id|source:id", ids in named sources, as exports write them), "customer_id" (the
// customer's Fidelis id: the row updates that customer; for an export edited and imported back
// into its own base), "tags", "deleted_at", "is_company" (yes/no, company/person), "ignore", "label:HEADER" (the labels of the e-mails or
// phones of column HEADER, which the mapping must name), "consent:CHANNEL:PURPOSE" (a yes/no column:
// oui/non, yes/no, 1/0, true/false, x or empty), "opt_out:CHANNEL" or "opt_out:CHANNEL:PURPOSE" (a
// marketing tool's opt-out: a yes or a date withdraws), or a custom field key). Headers written
// "consent:CHANNEL:PURPOSE" (the export's) are read as such consents without a mapping. A mapping's
// header is found in the file as written, else whatever its case, accents and their encoding.
// With a mapping, the headers it does not name are ignored; without one, every header is guessed
// from French and English names ("Nom", "Prénom", "Code postal", "E-mail", "Date de naissance",
// "Mobile Phone", ...), the columns of common shop exports (Shopify's "Default Address ...",
// WooCommerce's "billing_..." and "shipping_..."), or a custom field's key, or ignored; when two
// guessed columns would fill one single-valued field, the plainer name wins ("first_name" over
// "billing_first_name", billing over shipping).
// InvalidArgument naming "mapping.<header>" for an unknown field, "mapping" for a header not in the
// file, for two mapped columns filling one single-valued field, or for a mapping that names no
// name, e-mail or phone column; "header" when two guessed columns of the same rank fill one
// single-valued field, or when no column is recognised as a name, an e-mail or a phone (a file
// without a header row, whose first customer would be taken for one).
Result<std::vector<Column>> map_columns(std::span<const std::string> header,
                                        const std::map<std::string, std::string>& explicit_mapping,
                                        const std::vector<customers::CustomFieldDef>& custom_fields);

// Reads the first records of the file at `path` (up to 5 000 after the header) to settle what the
// header alone cannot: in which order each date column (birth date, date custom fields) writes its
// days and months (month first when some of its dates can only be read so, "12/25/1990", and none
// can only be read day first), and which columns left unread hold what looks like e-mail addresses
// or phone numbers (returned as warnings, one sentence each: nothing is read from them). The same
// file always gives the same answer, so a resumed import reads it as the first run did.
// NotFound ("file") when the file cannot be opened.
Result<std::vector<std::string>> settle_columns(const std::string& path, std::span<Column> columns,
                                                const std::vector<customers::CustomFieldDef>& custom_fields);

// ---- a row to a customer (row_builder.cpp) ----

struct Flag {
  std::string field;   // profile field, e.g. "birth_date"
  std::string value;   // as found in the file
  std::string reason;
};

struct BuiltRow {
  customers::CustomerInput input;  // validated and normalised
  std::optional<std::string> external_id;  // the record's id in the import's source
  std::optional<int64_t> customer_id;      // the customer the row names by its Fidelis id
  std::vector<Flag> flags;         // values dropped from the row
  // A row naming its customer by Fidelis id: the fields the file has columns for that the row
  // leaves empty ("birth_date", "street2", "custom_fields.KEY"; names when no full name fills
  // them; "emails" and "phones" when every such column is empty), which an import with the rank
  // to overwrite clears (an export edited and read back). A value dropped as malformed (flagged) is
  // not empty: it clears nothing.
  std::vector<std::string> blank;
};

struct RowOptions {
  std::string source;               // source system name, lower-case
  std::string default_country = "FR";
  Millis now = 0;
  MxChecker* mx = nullptr;          // when set, e-mails whose domain cannot receive mail are flagged
  // Consents every row gives unless a column of the row says otherwise (ImportOptions::consents).
  std::vector<std::pair<customers::Channel, customers::Purpose>> file_consents;
};

// InvalidArgument, with `field` = the column header, when the row cannot make a usable customer
// (no name, no valid e-mail and no phone), or has more fields than the header.
Result<BuiltRow> build_row(const CsvRecord& record, std::span<const Column> columns, const RowOptions& options,
                           const std::vector<customers::CustomFieldDef>& custom_fields);

// ---- running imports (importer.cpp) ----

// A bulk load: while it writes, the search and duplicate-blocking indexes of customers, e-mails
// and phones (keys in no particular order, which every batch would rewrite all over) are set aside
// and rebuilt at the end in one sort each, and rows are matched through those keys held in memory
// (merging::KeyIndex: about 130 to 270 bytes per customer of the base and the file). SQLite only.
// Other requests keep working meanwhile, but their searches and duplicate checks scan the tables
// until the rebuild; an interrupted load gets its indexes back at the next start.
enum class BulkMode : uint8_t {
  kAuto,  // when the file holds at least kBulkMinRows rows (estimated from its first batch) and at
          // least as many as the base has live customers, on SQLite
  kOn,    // always (InvalidArgument "bulk" on PostgreSQL)
  kOff    // never
};
inline constexpr int64_t kBulkMinRows = 100'000;
std::string_view bulk_mode_name(BulkMode m);  // "auto", "on", "off"
Result<BulkMode> parse_bulk_mode(std::string_view name, std::string_view field = "bulk");

struct ImportOptions {
  std::string path;
  std::string file_name;            // the name the file is known by (an upload's); default: the path's
  std::string source;               // required: the system the file comes from
  std::optional<int> source_priority;  // merge priority of the source (higher wins); kept per source
  std::map<std::string, std::string> mapping;
  // Consents every row of the file gives ("email:newsletter"): a list's export, whose contacts
  // subscribed by being in it (Mailchimp's subscribed contacts). A row's consent or opt-out column
  // says otherwise for that row; the rules of imported consents apply (a withdrawal is not undone).
  std::vector<std::string> consents;
  std::string default_country = "FR";
  // Match existing customers: by id in the source (an update), then through the dedup model (merged
  // above its merge threshold, queued for review between the thresholds).
  bool dedup = true;
  std::string rejects_path;         // default: <path>.rejects.csv
  int64_t batch_rows = 20000;  // rows per transaction: larger batches rewrite fewer index pages
  BulkMode bulk = BulkMode::kAuto;
  // Called after each committed batch; may be empty.
  std::function<void(const struct ImportStatus&)> progress;
  // When set, e-mail domains are checked in DNS (flagged when they cannot receive mail). Not stored
  // with the import: the runner and the CLI set it from the configuration.
  MxChecker* mx = nullptr;
  // Tests only: stop (as a crash would) after this many committed batches.
  std::optional<int64_t> stop_after_batches;
  // Called once the import has its id (new or resumed), before the first row; may be empty.
  std::function<void(int64_t id)> on_started;
  // Checked between batches: true stops the run, leaving it resumable (status "interrupted").
  std::function<bool()> should_stop;
  // Set by the background runner: the queued import (Importer::enqueue) this run carries on. One
  // that another process finished meanwhile is left as it is.
  int64_t import_id = 0;
};

struct ImportStatus {
  int64_t id = 0;
  std::string source;
  std::string file_name;
  std::string status;  // "queued", "running", "done", "failed", "interrupted"
  std::string encoding;
  char delimiter = ',';
  // accepted: new customers; updated: rows that changed the customer they name (its Fidelis id,
  // its id in a source, or, with nothing else to tell who they are, its e-mails); merged: rows the
  // duplicate model found to be an existing customer, merged into it; unchanged: rows that matched
  // a customer and brought nothing new; queued: new customers sent to the review queue with a
  // possible duplicate.
  int64_t rows_read = 0, accepted = 0, updated = 0, merged = 0, unchanged = 0, rejected = 0, flagged = 0, queued = 0;
  int64_t bytes_done = 0, bytes_total = 0;
  double rows_per_second = 0;
  std::optional<double> eta_seconds;
  std::optional<std::string> error;
  Millis started_at = 0, updated_at = 0;
  std::optional<Millis> finished_at;
  std::string rejects_path;  // the rejects file run() wrote; empty when it rejected nothing
  bool resumed = false;
  // The import set the indexes aside (a bulk load); phase is "rows" while rows are written, then
  // "indexes" while they are rebuilt.
  bool bulk = false;
  std::string phase = "rows";
  std::vector<std::string> warnings;  // settle_columns's, kept with the import
};

// What a dry run foresees the import doing with a row and the customers already stored: update
// the customer the row names (by "customer_id", an "external_id" of the row, or, for a row that
// identifies its person by e-mail alone, the "email" addresses of one customer), or, by the
// "model", merge the new customer into the best candidate or queue it for review with each
// candidate. No match: a new customer. A forecast of the row alone: rows of the same file that are
// one person, or that change a customer, are seen by the import only.
struct PreviewMatch {
  std::string outcome;  // "update", "merge" or "review"
  std::string by;       // "customer_id", "external_id", "email" or "model"
  std::vector<int64_t> customers;  // the customer updated or merged into; the candidates to review
  std::optional<double> score;     // the model's, for "merge" and "review" (the best candidate's)
  // For "update" and "merge": whether the row brings the customer anything new (false: the import
  // counts it unchanged and writes nothing, as for a file sent again).
  std::optional<bool> changes;
};
struct PreviewRow {
  int64_t line = 0;
  std::optional<customers::CustomerInput> customer;  // as it would be stored
  std::vector<Flag> flags;
  // A row naming its customer by Fidelis id, whose source may overwrite that customer: the fields
  // its emptied cells would empty (BuiltRow::blank), those the customer has a value for.
  std::vector<std::string> empties;
  std::optional<PreviewMatch> match;
  std::optional<Error> rejection;  // a row the import would reject, with the same reason
};
struct Preview {
  Dialect dialect;
  std::vector<Column> columns;
  std::vector<PreviewRow> rows;
  std::vector<std::string> warnings;  // settle_columns's: unread columns that look like contacts
};

// Where a customer's data came from: one imported record (a merge brings the loser's along).
struct Provenance {
  int64_t import_id = 0;
  std::string source;     // the source system, as the import named it
  std::string file_name;  // the imported file's name
  int64_t line = 0;       // where the record starts in the file
  Millis at = 0;          // when it was stored
};

class Importer {
 public:
  Importer(storage::Db& db, const Clock& clock, const merging::Options& merge_options = {});

  // Runs (or resumes) the import of `options.path` for `options.source`. InvalidArgument naming the
  // option for bad options or a bad header; the status says how far it went. A file replaced or
  // edited at the path since an import of it stopped is not resumed into: with `import_id`, that
  // import is marked failed and FailedPrecondition ("file") says why; otherwise the stopped imports
  // of the path and source whose process is gone are marked failed, and a new import reads the file.
  Result<ImportStatus> run(const ImportOptions& options, const audit::Actor& actor);
  // Checks the options and the file's header as run() does, and records the import as queued (or
  // finds the unfinished import of the same file and source, to be resumed); returns its id.
  // Conflict ("file") while another process runs it. run() with ImportOptions::import_id set to
  // the id carries it out.
  Result<int64_t> enqueue(const ImportOptions& options);
  // The first `rows` rows as they would be stored, with their problems; changes nothing.
  Result<Preview> preview(const ImportOptions& options, int rows = 20);
  Result<ImportStatus> status(int64_t id);
  Result<std::vector<ImportStatus>> list(int limit = 50);
  // Writes the rejects of import `id` to `path` (CSV: line, column, reason, then the original
  // fields), in French Excel's flavour when the source was `;`-separated, as such files come from it.
  Status write_rejects(int64_t id, const std::string& path);
  // The same rejects as CSV text (rejected rows are few: they are read whole); kCsv or kCsvExcelFr.
  Result<std::string> rejects_csv(int64_t id, ExportFormat format = ExportFormat::kCsv);
  // The imported records behind customer `id`, newest first (at most `limit`). NotFound ("id") when
  // no live customer has the id.
  Result<std::vector<Provenance>> provenance(int64_t customer_id, int limit = 200);

 private:
  // The options' source name, normalised, once every option is checked (InvalidArgument naming it).
  Result<std::string> checked_source(const ImportOptions& o) const;

  storage::Db& db_;
  const Clock& clock_;
  dedup::Model model_;
  merging::Rules rules_;
};

// Options as stored with an import, so the server can resume it after a restart.
std::string encode_options(const ImportOptions& o);
ImportOptions decode_options(std::string_view text);

// ---- files uploaded in chunks (uploads.cpp) ----
// A file received over HTTP in chunks of at most the body limit, kept under `dir`. Upload ids are
// random 128-bit hex strings. Thread-safe.
class Uploads {
 public:
  explicit Uploads(std::string dir);
  Result<std::string> create();
  // Appends `data` at `offset`, which must be the current size; a chunk sent again may start
  // earlier when the bytes it overlaps are the ones already there (what is past them is appended).
  // Returns the new size. NotFound ("upload_id"); InvalidArgument ("offset") on a gap or on bytes
  // that differ from those stored; ResourceExhausted ("upload") past `kMaxBytes`.
  Result<int64_t> append(std::string_view id, int64_t offset, std::string_view data);
  Result<std::string> path(std::string_view id) const;
  static constexpr int64_t kMaxBytes = 4LL << 30;  // 4 GiB

 private:
  std::string dir_;
  std::mutex mu_;
};

// ---- imports in the background (runner.cpp) ----
// Runs imports one at a time on a background thread; the imports table is the durable queue:
// resume_unfinished() (called at server start) continues imports a stopped server left running.
class ImportRunner {
 public:
  ImportRunner(storage::Db& db, const Clock& clock, merging::Options merge_options = {}, MxChecker* mx = nullptr);
  ~ImportRunner();  // stops after the current batch; the import stays resumable
  // Validates and starts; returns the import's id once it exists (errors in the options or the
  // header come back here).
  Result<int64_t> start(ImportOptions options, const audit::Actor& actor);
  Status resume_unfinished();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- export (export.cpp) ----

// `value` as a spreadsheet cell that cannot run as a formula: an apostrophe before a leading "=",
// "+", "-", "@", tab or carriage return (an import takes it off again).
std::string spreadsheet_text(std::string value);
// A household member or an affinity as one item of the export's cell: "enfant:Léa:2015-04-02"
// ("conjoint" when only the relation is known, "enfant::2015-04-02" without a first name),
// "jardin:80". An import reads them back (Target::kHousehold, kAffinities).
std::string household_item(const customers::HouseholdMember& m);
std::string affinity_item(const customers::Affinity& a);
// Streams every live customer (or every customer when include_deleted) to `sink`, a chunk at a
// time, in id order; memory stays flat. Returns how many customers were written. In CSV, the
// other e-mails, other phones, tags, ids in other systems, household members and affinities are
// each one cell, '|' between items; an import of the file reads them back.
Result<int64_t> export_customers(storage::Db& db, ExportFormat format, bool include_deleted,
                                 const std::function<Status(std::string_view chunk)>& sink);

}  // namespace fidelis::imports
