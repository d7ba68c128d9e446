// Imports in the background, one at a time. The imports table is the queue: an import the server
// was running when it stopped is resumed by resume_unfinished() at the next start.

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <set>
#include <thread>

#include "core/log.h"
#include "core/text.h"
#include "imports/imports.h"
#include "storage/migrate.h"

namespace fidelis::imports {

struct ImportRunner::Impl {
  storage::Db& db;
  const Clock& clock;
  merging::Options merge_options;
  MxChecker* mx;
  std::mutex mu;
  std::condition_variable cv;
  struct Job {
    ImportOptions options;  // import_id: the queued import
    audit::Actor actor;
  };
  std::deque<std::unique_ptr<Job>> queue;
  std::set<std::string> active;  // file and source of each queued or running job
  std::atomic<bool> stopping{false};
  std::thread worker;

  static std::string key_of(const ImportOptions& o) { return o.path + "\n" + text::to_lower(o.source); }

  Impl(storage::Db& d, const Clock& c, merging::Options m, MxChecker* x)
      : db(d), clock(c), merge_options(std::move(m)), mx(x) {
    worker = std::thread([this] { loop(); });
  }

  // Marks the import of `o` this process was running as failed with `why`, and gives back the
  // indexes a bulk load set aside.
  void fail_running(const ImportOptions& o, const std::string& why) {
    storage::Value p[] = {o.path, o.source, why, clock.now()};
    Status st = db.transact([&](storage::Tx& tx) -> Status {
      FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE imports SET status = 'failed', error = $3, updated_at = $4, finished_at = $4 "
                                      "WHERE path = $1 AND source = $2 AND status = 'running'",
                                      p));
      return ok();
    });
    if (!st) log::warn("cannot mark the import failed", {{"file", o.path}, {"error", st.error().message}});
    if (Status r = storage::restore_bulk_indexes(db); !r)
      log::warn("cannot rebuild the indexes set aside", {{"error", r.error().message}});
    (void)db.set_bulk_loading(false);
  }

  void loop() {
    while (true) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;  // the queued imports stay queued: the next start resumes them
        job = std::move(queue.front());
        queue.pop_front();
      }
      job->options.should_stop = [this] { return stopping.load(); };
      job->options.mx = mx;
      Importer importer(db, clock, merge_options);
      Result<ImportStatus> r = Error::internal("not run");
      try {
        r = importer.run(job->options, job->actor);
      } catch (const std::exception& e) {
        // Nothing foreseen throws; should anything, the import fails and says why, and the server
        // goes on (an exception leaving this thread would end the process, and the next start would
        // resume the same import into the same end).
        r = Error::internal(fmt::format("the import stopped on an unexpected error: {}", e.what()));
        fail_running(job->options, r.error().message);
      }
      {
        std::lock_guard lock(mu);
        active.erase(key_of(job->options));
      }
      if (!r) log::warn("import failed", {{"file", job->options.path}, {"error", r.error().message}});
      else log::info("import finished", {{"id", std::to_string(r->id)}, {"status", r->status}});
    }
  }
};

ImportRunner::ImportRunner(storage::Db& db, const Clock& clock, merging::Options merge_options, MxChecker* mx)
    : impl_(std::make_unique<Impl>(db, clock, std::move(merge_options), mx)) {}

ImportRunner::~ImportRunner() { stop(); }

void ImportRunner::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

Result<int64_t> ImportRunner::start(ImportOptions options, const audit::Actor& actor) {
  auto job = std::make_unique<Impl::Job>();
  job->options = std::move(options);
  job->actor = actor;
  const std::string key = Impl::key_of(job->options);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return Error::unavailable("the server is stopping");
    // The same upload for the same source, sent twice: the second would run the file again.
    if (!impl_->active.insert(key).second)
      return Error{Code::kConflict, "upload_id",
                   "this upload is already being imported for source '" + job->options.source + "': follow that import"};
  }
  // Checked and recorded as queued now, so the caller has its id at once, whatever runs before it.
  Importer importer(impl_->db, impl_->clock, impl_->merge_options);
  Result<int64_t> id = importer.enqueue(job->options);
  std::lock_guard lock(impl_->mu);
  if (!id || impl_->stopping) {
    impl_->active.erase(key);
    return id ? Result<int64_t>(Error::unavailable("the server is stopping")) : id;
  }
  job->options.import_id = *id;
  impl_->queue.push_back(std::move(job));
  impl_->cv.notify_all();
  return id;
}

Status ImportRunner::resume_unfinished() {
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      impl_->db.query("SELECT id, path, options FROM imports WHERE status IN ('queued', 'running', 'interrupted') ORDER BY id"));
  for (const auto& r : rows.rows) {
    ImportOptions o = decode_options(r.str(2));
    o.path = r.str(1);
    o.import_id = r.i64(0);
    auto job = std::make_unique<Impl::Job>();
    job->options = std::move(o);
    job->actor = audit::Actor{"system", std::nullopt, "resume", "", ""};
    std::lock_guard lock(impl_->mu);
    if (!impl_->active.insert(Impl::key_of(job->options)).second) continue;
    impl_->queue.push_back(std::move(job));
    log::info("resuming import", {{"id", r.str(0)}});
  }
  impl_->cv.notify_all();
  return ok();
}

}  // namespace fidelis::imports
