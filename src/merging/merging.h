#pragma once
// merging: duplicates in the stored base. Where dedup (pure) says which records are the same
// person, merging finds the candidates of a new or changed customer in the database, merges two
// customers by survivorship rules, moves everything attached to the loser, records the merge so it
// can be undone, keeps the review queue of uncertain pairs, and runs the whole-base deduplication.
//
//   candidates   find_candidates(): blocking through the database's indexes (same e-mail, same
//                phone, same normalised name in either order, same birth date with a name sharing
//                its first letters), scored with the dedup model; what inserts and imports use.
//                The whole-base run uses every dedup blocking key (phonetic name + postcode, address,
//                ...), in memory.
//   survivorship survive(): per field, which side's value the merged profile keeps (source
//                priority, most recent, most complete), and the union of the lists.
//   merge        merge_in() / unmerge_in(): the loser becomes a soft-deleted record pointing at the
//                winner (customers.merged_into); its e-mails, phones, tags, consents, household,
//                affinities and custom fields are united into the winner by survivorship; the rows
//                attached to it in other tables (external ids, provenance, quality flags, consent
//                history, questionnaire links and answers, e-mail statuses and events, orders and
//                their lines, history, returns, shipments and slot bookings, e-mails sent, web
//                visitors, sessions, events and counters, interactions: attached_tables()) are
//                moved to the winner. The merge keeps the winner's profile rows before and after,
//                and the keys of every moved row.
//                Unmerge puts the moved rows back, revives the loser as it was, and gives the winner
//                back its own values: a field or list entry changed on the winner since the merge
//                keeps its new value.
//   reviews      pairs scored between the review and merge thresholds wait for a person, who sees
//                the two profiles side by side with the per-field comparison and accepts (merge) or
//                rejects (never proposed again).
//   dedup runs   the whole base matched at once (dedup::match), merge pairs merged, review pairs
//                queued, with progress kept in dedup_runs.
//
// Thread-safety: MergeService is shared by all request threads; functions taking a Tx run in the
// caller's transaction.

#include <array>
#include <atomic>
#include <mutex>
#include <thread>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "customers/customers.h"
#include "dedup/dedup.h"
#include "storage/db.h"

namespace fidelis::merging {

// ---- customers as dedup records (records.cpp) ----

// The record of a profile: primary e-mail and phone, first external id.
dedup::Record record_of(const customers::Customer& c);
dedup::Record record_of(const customers::CustomerInput& in);
// Every live customer as a record, in id order, read a page at a time.
Result<std::vector<dedup::Record>> load_records(storage::Db& db);
// The pairs blocking cannot see, added to `pairs` (kept best first): a record given an e-mail that
// stayed with another customer, who had it first (flagged "already used by customer N": an import
// without matching), scored against that customer with that address as its own, as an import
// that matches would have. A pair already in `pairs` is left as it is. `records` as load_records
// gives them.
Status add_flagged_pairs(storage::Db& db, const std::vector<dedup::Record>& records, const dedup::Model& model,
                         std::vector<dedup::ScoredPair>& pairs);
// The fields of a pair's line for `fidelis dedup --pairs`: external_id_a, external_id_b, score,
// decision (a customer without an external id is named "id:<customer id>").
std::array<std::string, 4> pair_csv_fields(const dedup::ScoredPair& p, std::span<const dedup::Record> records);
// Pairs of customers whose review has `status`, as (smaller id, larger id). "rejected": those a
// person said are two people (a rejected review, an undone merge), which a deduplication run never
// merges or queues; "pending": those waiting in the queue.
Result<std::set<std::pair<int64_t, int64_t>>> review_pairs(storage::Db& db, std::string_view status);
// Takes a person's decisions into scored pairs (by customer id): removes the pairs in `rejected`,
// and turns into review a merge pair of which one customer would also merge with a customer the
// other was separated from (three records, two of them two people: which one the third is, is a
// guess). Returns how many pairs were removed.
size_t apply_decisions(std::vector<dedup::ScoredPair>& pairs, const std::set<std::pair<int64_t, int64_t>>& rejected);

// ---- candidates (candidates.cpp) ----

struct Candidate {
  int64_t customer_id = 0;
  double score = 0;
  dedup::Decision decision = dedup::Decision::kDistinct;
  dedup::Comparison comparison;
};

// Live customers that may be the person of `r`, scored, at or above the model's review threshold,
// best first. When two or more would be merged into and a person said two of them are two people
// (a rejected review, an undone merge), those go to review instead: which one the record is, is a
// guess. `exclude` (e.g. the record itself once inserted) is never returned. At most
// `kMaxCandidates` customers are scored: a very common name alone cannot make the search slow.
inline constexpr int kMaxCandidates = 200;
Result<std::vector<Candidate>> find_candidates(storage::Tx& tx, const dedup::Record& r, const dedup::Model& model,
                                               int64_t exclude = 0);
// The same for the live customers among `ids` only (found by a KeyIndex): those that are in one of
// `r`'s blocks as they are stored now are scored.
Result<std::vector<Candidate>> score_candidates(storage::Tx& tx, const dedup::Record& r, std::span<const int64_t> ids,
                                                const dedup::Model& model, int64_t exclude = 0);

// ---- in-memory blocking (key_index.cpp) ----

// The blocking keys find_candidates() asks the database for (e-mails, phones, names in either
// order with the postcode, birth date with the name or the first name), held in memory instead:
// what a bulk import uses while the database's secondary indexes are set aside. A key is stored as
// a 64-bit hash with the customer's id, 16 bytes (about seven keys a customer, so 130 to 270 bytes
// per customer with the table's free slots: 128 MiB for 1M); a collision only brings one more
// candidate, which scoring then turns down. Each key keeps at most kBlockCap customers, as the
// database query reads at most that many per block. Not thread-safe.
class KeyIndex {
 public:
  static constexpr size_t kBlockCap = 50;
  // Every live customer's keys, read by walking primary keys (no secondary index needed).
  static Result<KeyIndex> load(storage::Db& db);
  // The keys of a profile as stored: all its e-mails and phones, its name keys with its postcode
  // and birth date. Pure: computable on any thread.
  static std::vector<uint64_t> stored_keys(const customers::CustomerInput& in);
  // The keys to look up for record `r`. Pure.
  static std::vector<uint64_t> query_keys(const dedup::Record& r);
  // Adds the keys of the profile stored (created, or merged into) as customer `id`.
  void add(int64_t id, std::span<const uint64_t> stored_keys);
  void add(int64_t id, const customers::CustomerInput& in);
  // The keys of customers `ids` as stored now, read inside `tx` (profiles another writer changed).
  Status add_stored(storage::Tx& tx, std::span<const int64_t> ids);
  // Customers that may share one of `r`'s blocks, at most kMaxCandidates (those sharing the e-mail
  // or the phone first); deleted ones included (score_candidates skips them).
  std::vector<int64_t> candidates(const dedup::Record& r) const;
  std::vector<int64_t> candidates(std::span<const uint64_t> query_keys) const;
  // Customers that may have `email` among theirs (the caller checks in the database).
  std::vector<int64_t> email_holders(std::string_view email) const;
  size_t keys() const { return used_; }
  size_t bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty
    int64_t id = 0;
  };
  void insert(uint64_t hash, int64_t id);
  void grow();
  void lookup(uint64_t hash, std::vector<int64_t>& out) const;
  static void person_keys(std::string_view name_key, std::string_view name_key2, std::string_view postcode,
                          std::string_view birth_date, std::vector<uint64_t>& out);
  Status add_where(storage::Tx& tx, std::string_view which, std::span<const storage::Value> params);
  void add_email(int64_t id, std::string_view email_key);
  void add_mailbox(int64_t id, std::string_view mailbox_key);  // an address's, where it differs
  void add_phone(int64_t id, std::string_view phone_key);
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

// ---- survivorship (survivorship.cpp): pure ----

enum class Rule : uint8_t {
  kSourcePriority,  // the value from the side whose best source ranks higher (sources.priority)
  kMostRecent,      // the value from the side updated last
  kMostComplete,    // the fuller value: more characters, accents kept, a whole address
};
std::string_view rule_name(Rule r);  // "source_priority", "most_recent", "most_complete"

// The fields ruled one by one; the lists (e-mails, phones, tags, household, affinities) are united,
// consents take the most recent decision per channel and purpose, custom fields follow kCustom.
enum class RuledField : uint8_t { kCivility, kFirstName, kLastName, kBirthDate, kAddress, kCustom };
inline constexpr size_t kRuledFieldCount = 6;
std::string_view ruled_field_name(RuledField f);  // "civility", ..., "address", "custom_fields"

struct Rules {
  std::array<Rule, kRuledFieldCount> rule{};
  // civility, names, birth date, custom fields: source priority; address: most recent.
  static Rules defaults();
};
// "last_name=most_complete,address=most_recent": changes the defaults for the fields named.
// InvalidArgument ("survivorship") naming the bad field or rule.
Result<Rules> parse_rules(std::string_view spec);

struct Side {
  const customers::Customer* customer = nullptr;
  int priority = 50;  // the customer's rank: source_rank()
};

struct FieldChoice {
  std::string field;  // "first_name", "address", "custom_fields.vip", ...
  bool from_loser = false;
  std::string rule;   // rule_name, or "only value" when one side is empty
};

struct Survived {
  customers::CustomerInput input;  // every scalar set (or unset = none), every list but external ids
  std::vector<FieldChoice> choices;
};
// `import_sources`: the sources imports have named (the sources table). Two differing consents:
// the one the person decided later, when both dates are known (customers::decided_at: an
// import's consent is dated only by its source); else a consent one side holds from an import
// never beats a withdrawal on the other, however recent (an import does not give back a consent
// the person withdrew, even through a merge made later); else the one recorded later.
Survived survive(const Side& winner, const Side& loser, const Rules& rules,
                 const std::set<std::string>& import_sources = {});

// ---- merges (merge_store.cpp) ----

// A table whose rows belong to a customer by a customer_id column, moved by a merge. `key` names
// the columns that identify a row beside customer_id ("id" for tables with their own id).
struct AttachedTable {
  std::string table;
  std::vector<std::string> key;
};
// Every table of the schema with customer rows, beside the profile's own (listed in merge_store.cpp;
// a new module's table goes there, and a test checks the list against the schema).
const std::vector<AttachedTable>& attached_tables();

struct MergeRequest {
  int64_t a = 0, b = 0;
  std::optional<int64_t> winner;  // a or b; default: the older customer (lower id) survives
  std::string reason = "manual";  // "auto", "review", "manual"
  std::string origin = "api";     // "api", "import:12", "dedup:3", "review:7"
  std::optional<double> score;
  // When the loser's values date from, for the rules that weigh recency, if not its last update:
  // an import row's are the import's start (the rows of one file are of one time, whatever batch
  // or run stored them).
  std::optional<Millis> loser_as_of;
};

struct MergeRecord {
  int64_t id = 0;
  int64_t winner_id = 0, loser_id = 0;
  std::optional<double> score;
  std::string reason, origin, actor;
  std::vector<FieldChoice> choices;
  std::vector<std::pair<std::string, int64_t>> moved;  // table -> rows moved
  Millis at = 0;
  std::optional<Millis> undone_at;
  std::optional<std::string> undone_by;
};

// How customer `id`'s values rank against a source's priority (sources.priority, 0..100): the
// highest priority of the sources it came from (its provenance, its ids in other systems); 100
// when no import created it (entered through the API or the back office, whatever imports filled
// in since: only a source of priority 100 replaces what people typed). An import created it when
// it has a provenance row of its creation time. Imports compare it with their source's priority to
// update a customer; survivorship compares the two sides of a merge by it.
inline constexpr int kTypedByPeopleRank = 100;
Result<int> source_rank(storage::Tx& tx, int64_t id);

// InvalidArgument ("b") when a == b, ("winner") when it is neither; NotFound naming "a" or "b" when
// one is not a live customer.
Result<MergeRecord> merge_in(storage::Tx& tx, const MergeRequest& req, const Rules& rules, const audit::Actor& actor,
                             Millis now);
// NotFound ("id"); Conflict when already undone, or when the winner was itself merged into another
// customer since (undo that merge first).
Result<MergeRecord> unmerge_in(storage::Tx& tx, int64_t merge_id, const audit::Actor& actor, Millis now);

// ---- reviews (reviews.cpp) ----

// Queues the pair (in either order) for review unless it is already known (pending, accepted or
// rejected); an obsolete pair is queued again. Returns whether it was queued.
Result<bool> queue_review_in(storage::Tx& tx, int64_t a, int64_t b, const Candidate& c, const dedup::Model& model,
                             std::string_view origin, Millis now);

struct FieldSideBySide {
  std::string field;
  std::string a, b;
  std::string level;      // dedup::level_name: "same", "close", "different", "missing", ...
  double similarity = 0;
  double weight = 0;      // its share of the score
};

struct Review {
  int64_t id = 0;
  int64_t customer_a = 0, customer_b = 0;
  double score = 0;         // when queued
  double current_score = 0; // on the profiles as they are now
  std::string status;       // pending, accepted, rejected, obsolete (one side deleted or merged)
  std::string origin;
  std::vector<FieldSideBySide> fields;
  std::string a_document, b_document;  // the profiles' JSON documents; empty (and no fields) when
                                       // a side is deleted or merged since
  Millis created_at = 0;
  std::optional<Millis> decided_at;
  std::optional<std::string> decided_by;
  std::optional<int64_t> merge_id;
};

struct ReviewQuery {
  std::string status = "pending";  // pending, accepted, rejected, obsolete, all
  std::optional<int64_t> customer_id;
  std::optional<int64_t> after_id;
  int limit = 50;  // 1..200
};
struct ReviewPage {
  std::vector<Review> items;
  std::optional<int64_t> next_after_id;
};

// ---- the service ----

struct Options {
  // The model that scores pairs, with its thresholds: the built-in one unless the configuration
  // gives thresholds or a model file (dedup.model_file, made by `fidelis dedup --estimate`).
  dedup::Model model = dedup::Model::default_french();
  Rules rules = Rules::defaults();
};

struct CreateOutcome {
  customers::Customer customer;  // the surviving profile: the new one, or the one it merged into
  bool merged = false;
  std::optional<MergeRecord> merge;
  std::vector<int64_t> queued_with;  // customers the new one was queued for review with
};

struct DedupRunOptions {
  bool dry_run = false;  // count what would be merged and queued, change nothing
  unsigned threads = 2;
  std::function<void(const struct DedupRun&)> progress;  // after each stage and every 500 pairs
};

struct DedupRun {
  int64_t id = 0;
  std::string status;  // running, done, failed
  bool dry_run = false;
  int64_t records = 0, compared = 0, pairs_merge = 0, pairs_review = 0;
  int64_t done = 0, merged = 0, queued = 0, skipped = 0;  // skipped: already decided or same person
  int64_t already_queued = 0;  // review pairs already waiting in the queue, left there
  std::optional<std::string> error;
  std::string actor;
  Millis started_at = 0, updated_at = 0;
  std::optional<Millis> finished_at;
};

class MergeService {
 public:
  MergeService(storage::Db& db, const Clock& clock, Options options = {});
  ~MergeService();  // waits for a background run to stop at its next batch

  const dedup::Model& model() const { return model_; }
  const Rules& rules() const { return options_.rules; }

  // customers::CustomerService::create, then the new customer's candidates: above the merge
  // threshold it is merged into the best one (which survives), between the thresholds it is queued
  // for review with each. `dedup` false: a plain create. Detection runs in its own transaction
  // after the create: if it fails, the created customer is returned (logged; a later run matches it).
  Result<CreateOutcome> create(customers::CustomerService& customers, customers::CustomerInput in,
                               const audit::Actor& actor, bool dedup = true);

  Result<ReviewPage> reviews(const ReviewQuery& q);
  Result<Review> review(int64_t id);  // NotFound ("id")
  // Conflict unless pending (an obsolete pair cannot be merged).
  Result<MergeRecord> accept(int64_t review_id, std::optional<int64_t> winner, const audit::Actor& actor);
  Result<Review> reject(int64_t review_id, const audit::Actor& actor);

  Result<MergeRecord> merge(MergeRequest req, const audit::Actor& actor);
  Result<MergeRecord> unmerge(int64_t merge_id, const audit::Actor& actor);
  Result<MergeRecord> get_merge(int64_t id);  // NotFound ("id")
  // Merges involving the customer (as winner or loser), newest first; all merges without one.
  Result<std::vector<MergeRecord>> merges(std::optional<int64_t> customer_id, int limit = 100);

  // The whole-base run; the run's row is written as it goes (see dedup_run()), and its updated_at
  // at least every kRunHeartbeat while it runs. A run still "running" with no sign of life for
  // kRunAbandonedAfter died with its process (a crash, a kill): the next look at the runs, or the
  // next run, marks it failed, whichever server (sharing the database) looks.
  static constexpr Millis kRunHeartbeat = 30'000;
  static constexpr Millis kRunAbandonedAfter = 5 * 60'000;
  Result<DedupRun> run_dedup(const DedupRunOptions& options, const audit::Actor& actor);
  // The same on a background thread; returns the run's id. Conflict while another runs.
  Result<int64_t> start_dedup(DedupRunOptions options, const audit::Actor& actor);
  Result<DedupRun> dedup_run(int64_t id);  // NotFound ("id")
  Result<std::vector<DedupRun>> dedup_runs(int limit = 20);

 private:
  Result<DedupRun> begin_run(bool dry_run, const audit::Actor& actor);
  Result<DedupRun> execute_run(DedupRun d, const DedupRunOptions& options, const audit::Actor& actor);
  // Marks runs silent for kRunAbandonedAfter failed. `reading`: for a read path, best effort.
  Status fail_abandoned_runs(bool reading);

  storage::Db& db_;
  const Clock& clock_;
  Options options_;
  dedup::Model model_;
  std::mutex run_mu_;
  bool run_active_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> executing_run_{0};  // the run execute_run() is in, 0 when none
  std::thread run_thread_;
};

}  // namespace fidelis::merging
