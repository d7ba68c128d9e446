// Imports in the background, one at a time. The imports table is the queue: an import the server
// was running when it stopped is resumed by resume_unfinished() at the next start.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <set>
#include <thread>

#include "core/log.h"
#include "core/text.h"
#include "imports/imports.h"

namespace fidelis::imports {

struct ImportRunner::Impl {
  storage::Db& db;
  const Clock& clock;
  merging::Options merge_options;
  MxChecker* mx;
  std::mutex mu;
  std::condition_variable cv;
  struct Job {
    ImportOptions options;
    audit::Actor actor;
    std::promise<Result<int64_t>> started;
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

  void loop() {
    while (true) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) {
          for (auto& j : queue) j->started.set_value(Error::unavailable("the server is stopping"));
          return;
        }
        job = std::move(queue.front());
        queue.pop_front();
      }
      bool announced = false;
      job->options.on_started = [&](int64_t id) {
        announced = true;
        job->started.set_value(id);
      };
      job->options.should_stop = [this] { return stopping.load(); };
      job->options.mx = mx;
      Importer importer(db, clock, merge_options);
      auto r = importer.run(job->options, job->actor);
      {
        std::lock_guard lock(mu);
        active.erase(key_of(job->options));
      }
      if (!announced) job->started.set_value(r ? Result<int64_t>(r->id) : Result<int64_t>(r.error()));
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
  auto started = job->started.get_future();
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return Error::unavailable("the server is stopping");
    // The same upload for the same source, sent twice: the second would wait for the first and
    // then store its rows again.
    if (!impl_->active.insert(Impl::key_of(job->options)).second)
      return Error{Code::kConflict, "upload_id",
                   "this upload is already being imported for source '" + job->options.source + "': follow that import"};
    impl_->queue.push_back(std::move(job));
  }
  impl_->cv.notify_all();
  return started.get();
}

Status ImportRunner::resume_unfinished() {
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      impl_->db.query("SELECT id, path, options FROM imports WHERE status IN ('running', 'interrupted') ORDER BY id"));
  for (const auto& r : rows.rows) {
    ImportOptions o = decode_options(r.str(2));
    o.path = r.str(1);
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
