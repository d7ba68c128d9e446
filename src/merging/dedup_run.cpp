// The whole-base deduplication run: every customer matched at once, merges and reviews applied in
// batches, progress kept in dedup_runs.

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "merging/merging_internal.h"

namespace fidelis::merging {

using storage::Value;

namespace {

constexpr std::string_view kRunSelect =
    "SELECT id, status, dry_run, records, compared, pairs_merge, pairs_review, done, merged, queued, skipped, error, "
    "actor, started_at, updated_at, finished_at, already_queued FROM dedup_runs";

DedupRun run_from_row(const storage::Row& r) {
  DedupRun d;
  d.id = r.i64(0);
  d.status = r.str(1);
  d.dry_run = r.i64(2) != 0;
  d.records = r.i64(3);
  d.compared = r.i64(4);
  d.pairs_merge = r.i64(5);
  d.pairs_review = r.i64(6);
  d.done = r.i64(7);
  d.merged = r.i64(8);
  d.queued = r.i64(9);
  d.skipped = r.i64(10);
  d.error = r.opt_str(11);
  d.actor = r.str(12);
  d.started_at = r.i64(13);
  d.updated_at = r.i64(14);
  if (!r.is_null(15)) d.finished_at = r.i64(15);
  d.already_queued = r.i64(16);
  return d;
}

Status save(storage::Tx& tx, const DedupRun& d) {
  Value p[] = {d.id, d.status, d.records, d.compared, d.pairs_merge, d.pairs_review, d.done, d.merged, d.queued,
               d.skipped, storage::opt(d.error), d.updated_at, storage::opt(d.finished_at), d.already_queued};
  FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE dedup_runs SET status = $2, records = $3, compared = $4, pairs_merge = $5, pairs_review = $6, "
                 "done = $7, merged = $8, queued = $9, skipped = $10, error = $11, updated_at = $12, finished_at = $13, "
                 "already_queued = $14 WHERE id = $1",
                 p));
  return ok();
}

}  // namespace

Status MergeService::fail_abandoned_runs(bool reading) {
  Millis now = clock_.now();
  // Never the run this process is executing, whatever its last beat says.
  Value p[] = {now - kRunAbandonedAfter, executing_run_.load(),
               std::string("stopped without finishing: its process ended (no sign of life for 5 minutes); run it again")};
  constexpr std::string_view kAbandoned = "status = 'running' AND updated_at < $1 AND id <> $2";
  auto mark = [&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        fmt::format("UPDATE dedup_runs SET status = 'failed', error = $3, finished_at = updated_at WHERE {}", kAbandoned), p));
    return ok();
  };
  if (!reading) return db_.transact(mark);
  // A read (a progress poll) looks on a reader first and writes only when there is something to
  // mark, without waiting for a busy writer: the next look marks it then.
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> any,
                           db_.one(fmt::format("SELECT 1 FROM dedup_runs WHERE {} LIMIT 1", kAbandoned),
                                   std::span<const Value>(p, 2)));
  if (!any) return ok();
  return db_.try_transact(mark);
}

Result<DedupRun> MergeService::begin_run(bool dry_run, const audit::Actor& actor) {
  FIDELIS_RETURN_IF_ERROR(fail_abandoned_runs(/*reading=*/false));
  DedupRun d;
  d.status = "running";
  d.dry_run = dry_run;
  d.actor = actor.name.empty() ? actor.type : actor.type + ":" + actor.name;
  d.started_at = d.updated_at = clock_.now();
  Value ins[] = {int64_t{d.dry_run}, d.actor, d.started_at};
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(d.id, tx.insert_id("INSERT INTO dedup_runs (status, dry_run, actor, started_at, updated_at) "
                                                "VALUES ('running', $1, $2, $3, $3)",
                                                ins));
    return ok();
  }));
  return d;
}

Result<DedupRun> MergeService::run_dedup(const DedupRunOptions& options, const audit::Actor& actor) {
  FIDELIS_ASSIGN_OR_RETURN(DedupRun d, begin_run(options.dry_run, actor));
  return execute_run(d, options, actor);
}

Result<int64_t> MergeService::start_dedup(DedupRunOptions options, const audit::Actor& actor) {
  std::lock_guard lock(run_mu_);
  if (run_active_) return Error::conflict("a deduplication run is already in progress");
  if (run_thread_.joinable()) run_thread_.join();
  FIDELIS_ASSIGN_OR_RETURN(DedupRun d, begin_run(options.dry_run, actor));
  run_active_ = true;
  run_thread_ = std::thread([this, d, options = std::move(options), actor] {
    Result<DedupRun> r = Error::internal("not run");
    try {
      r = execute_run(d, options, actor);
    } catch (const std::exception& e) {
      // The run fails and says why; an exception leaving this thread would end the server.
      r = Error::internal(fmt::format("the run stopped on an unexpected error: {}", e.what()));
      Value p[] = {d.id, r.error().message, clock_.now()};
      (void)db_.transact([&](storage::Tx& tx) -> Status {
        FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE dedup_runs SET status = 'failed', error = $2, updated_at = $3, "
                                        "finished_at = $3 WHERE id = $1 AND status = 'running'",
                                        p));
        return ok();
      });
    }
    if (!r) log::warn("deduplication run failed", {{"id", std::to_string(d.id)}, {"error", r.error().message}});
    std::lock_guard done(run_mu_);
    run_active_ = false;
  });
  return d.id;
}

MergeService::~MergeService() {
  stopping_ = true;
  std::thread t;
  {
    std::lock_guard lock(run_mu_);
    t = std::move(run_thread_);
  }
  if (t.joinable()) t.join();
}

namespace {

// Writes the run's updated_at every kRunHeartbeat (real time) until destroyed, so that a run busy
// matching for minutes is not taken for a dead one. It waits for the writer like any transaction
// (on its own thread, so the run does not wait for it).
class Heartbeat {
 public:
  Heartbeat(storage::Db& db, const Clock& clock, int64_t run_id)
      : thread_([this, &db, &clock, run_id] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, std::chrono::milliseconds(MergeService::kRunHeartbeat), [this] { return done_; })) {
            Value p[] = {run_id, clock.now()};
            (void)db.transact([&](storage::Tx& tx) -> Status {
              FIDELIS_RETURN_IF_ERROR(tx.exec(
                  "UPDATE dedup_runs SET updated_at = $2 WHERE id = $1 AND status = 'running' AND updated_at < $2", p));
              return ok();
            });
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

Result<DedupRun> MergeService::execute_run(DedupRun d, const DedupRunOptions& options, const audit::Actor& actor) {
  executing_run_ = d.id;
  struct Done {
    std::atomic<int64_t>& id;
    ~Done() { id = 0; }
  } done{executing_run_};
  Heartbeat heartbeat(db_, clock_, d.id);
  auto report = [&] {
    d.updated_at = clock_.now();
    if (options.progress) options.progress(d);
  };
  auto finish = [&](Status st) -> Result<DedupRun> {
    d.status = st ? "done" : "failed";
    if (!st) d.error = st.error().field.empty() ? st.error().message : st.error().field + ": " + st.error().message;
    d.updated_at = clock_.now();
    d.finished_at = d.updated_at;
    FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
      FIDELIS_RETURN_IF_ERROR(save(tx, d));
      return audit::record(tx, actor,
                           {"dedup.run", "dedup_run", std::to_string(d.id), std::nullopt,
                            fmt::format(R"({{"status":"{}","merged":{},"queued":{}}})", d.status, d.merged, d.queued)},
                           d.updated_at);
    }));
    report();
    if (!st) return st.error();
    return d;
  };

  auto records = load_records(db_);
  if (!records) return finish(records.error());
  d.records = static_cast<int64_t>(records->size());
  report();
  auto matched = dedup::match(*records, model_, {.threads = std::max(1u, options.threads)});
  if (!matched) return finish(matched.error());
  if (Status flagged = add_flagged_pairs(db_, *records, model_, matched->pairs); !flagged) return finish(flagged.error());
  d.compared = static_cast<int64_t>(matched->stats.compared_pairs);
  d.pairs_merge = static_cast<int64_t>(matched->stats.decisions[static_cast<size_t>(dedup::Decision::kMerge)]);
  d.pairs_review = static_cast<int64_t>(matched->stats.decisions[static_cast<size_t>(dedup::Decision::kReview)]);
  // What the run acts on, as `--pairs` says: a person's decisions taken in.
  auto rejected = review_pairs(db_, "rejected");
  if (!rejected) return finish(rejected.error());
  size_t left_out = apply_decisions(matched->pairs, *rejected);
  auto count = [&](dedup::Decision want) {
    return static_cast<int64_t>(std::count_if(matched->pairs.begin(), matched->pairs.end(),
                                              [&](const dedup::ScoredPair& p) { return p.decision == want; }));
  };
  d.pairs_merge = count(dedup::Decision::kMerge);
  d.pairs_review = count(dedup::Decision::kReview);
  d.skipped = static_cast<int64_t>(left_out);  // the pairs a person decided are skipped, by a run or a dry run
  if (options.dry_run) {
    // The review pairs already waiting in the queue, which the run would leave there.
    auto pending = review_pairs(db_, "pending");
    if (!pending) return finish(pending.error());
    d.already_queued = static_cast<int64_t>(
        std::count_if(matched->pairs.begin(), matched->pairs.end(), [&](const dedup::ScoredPair& p) {
          return p.decision == dedup::Decision::kReview &&
                 pending->contains({std::min(p.a_id, p.b_id), std::max(p.a_id, p.b_id)});
        }));
  }
  if (Status st = db_.transact([&](storage::Tx& tx) { return save(tx, d); }); !st) return finish(st);
  report();
  if (options.dry_run) return finish(ok());

  const auto& pairs = matched->pairs;  // best first: the surest merges happen before the doubtful ones
  const std::string origin = fmt::format("dedup:{}", d.id);
  constexpr size_t kBatch = 200;
  for (size_t start = 0; start < pairs.size(); start += kBatch) {
    if (stopping_) return finish(Error::unavailable("the server stopped during the run; run it again"));
    Millis now = clock_.now();
    DedupRun next = d;
    // A batch that lost a race (a deadlock with a merge made through the API, on PostgreSQL) is
    // rolled back whole: run it again.
    Status st = ok();
    for (int attempt = 0; attempt < 3; ++attempt) {
    st = db_.transact([&](storage::Tx& tx) -> Status {
      next = d;
      for (size_t i = start; i < std::min(pairs.size(), start + kBatch); ++i) {
        const dedup::ScoredPair& p = pairs[i];
        ++next.done;
        FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> a, customers::survivor(tx, p.a_id));
        FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> b, customers::survivor(tx, p.b_id));
        if (!a || !b || *a == *b) {
          ++next.skipped;
          continue;
        }
        // Two people by a person's decision (a rejected review, an undone merge): never merged,
        // whether the pair is the one scored or the customers they now are.
        Value known[] = {std::min(p.a_id, p.b_id), std::max(p.a_id, p.b_id), std::min(*a, *b), std::max(*a, *b)};
        FIDELIS_ASSIGN_OR_RETURN(
            std::optional<storage::Row> decided,
            tx.one("SELECT 1 FROM merge_reviews WHERE status = 'rejected' AND ((customer_a = $1 AND customer_b = $2) "
                   "OR (customer_a = $3 AND customer_b = $4))",
                   known));
        if (decided) {
          ++next.skipped;
          continue;
        }
        if (p.decision == dedup::Decision::kMerge) {
          MergeRequest req{*a, *b, std::nullopt, "auto", origin, p.score};
          FIDELIS_ASSIGN_OR_RETURN(MergeRecord m, merge_in(tx, req, options_.rules, actor, now));
          (void)m;
          ++next.merged;
        } else if (*a == p.a_id && *b == p.b_id) {
          Candidate c{p.b_id, p.score, p.decision, p.comparison};
          FIDELIS_ASSIGN_OR_RETURN(bool queued, queue_review_in(tx, p.a_id, p.b_id, c, model_, origin, now));
          queued ? ++next.queued : ++next.already_queued;  // pending already (an accepted pair is one customer)
        } else {
          ++next.skipped;  // one side was merged by this run: its new profile is another pair
        }
      }
      next.updated_at = now;
      return save(tx, next);
    });
    if (st || st.error().code != Code::kConflict) break;
    }
    if (!st) return finish(st);
    d = next;
    report();
  }
  return finish(ok());
}

Result<DedupRun> MergeService::dedup_run(int64_t id) {
  (void)fail_abandoned_runs(/*reading=*/true);  // best effort: a read answers even when the mark cannot be written
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query(std::string(kRunSelect) + " WHERE id = $1", p));
  if (rows.rows.empty()) return Error::not_found("id", fmt::format("no deduplication run {}", id));
  return run_from_row(rows.rows[0]);
}

Result<std::vector<DedupRun>> MergeService::dedup_runs(int limit) {
  if (limit < 1 || limit > 200) return Error::invalid_argument("limit", "must be between 1 and 200");
  (void)fail_abandoned_runs(/*reading=*/true);  // best effort, as above
  Value p[] = {static_cast<int64_t>(limit)};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query(std::string(kRunSelect) + " ORDER BY id DESC LIMIT $1", p));
  std::vector<DedupRun> out;
  for (const auto& r : rows.rows) out.push_back(run_from_row(r));
  return out;
}

}  // namespace fidelis::merging
