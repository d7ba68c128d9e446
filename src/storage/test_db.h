#pragma once
// Test support: a fresh, migrated database for each driver, so every repository test runs on both.
// "sqlite" is a file in a new temp directory. "postgres" is a new schema on the server named by
// FIDELIS_TEST_PG (a postgresql:// URL; `make test` starts one on loopback). Without that variable
// the postgres case fails, unless FIDELIS_TEST_SKIP_PG=1 says to skip it. Either is removed when the
// TestDb goes (the directory, or the schema), after its Db is closed.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "storage/db.h"

namespace fidelis::storage::testing {

// Runs its function once, when destroyed (moved-from: never).
class OnExit {
 public:
  OnExit() = default;
  explicit OnExit(std::function<void()> fn) : fn_(std::move(fn)) {}
  OnExit(OnExit&& o) noexcept : fn_(std::exchange(o.fn_, nullptr)) {}
  OnExit& operator=(OnExit&& o) noexcept {
    if (this != &o) {
      run();
      fn_ = std::exchange(o.fn_, nullptr);
    }
    return *this;
  }
  ~OnExit() { run(); }

 private:
  void run() {
    if (fn_) std::exchange(fn_, nullptr)();
  }
  std::function<void()> fn_;
};

// An OnExit that removes directory `dir` and what it holds (errors ignored).
OnExit removing(std::filesystem::path dir);

struct TestDb {
  TestDb() = default;
  TestDb(TestDb&&) = default;
  // The database in use is closed before its directory or schema goes.
  TestDb& operator=(TestDb&& o) noexcept {
    if (this != &o) {
      db.reset();
      remove = std::move(o.remove);
      db = std::move(o.db);
      url = std::move(o.url);
      skipped = std::move(o.skipped);
    }
    return *this;
  }
  OnExit remove;  // declared before db: destroyed after it
  std::unique_ptr<Db> db;
  std::string url;      // the URL that opens this same database again
  std::string skipped;  // non-empty: the reason this driver is not available
};

// `driver` is "sqlite" or "postgres". Applies the embedded migrations when `migrated`.
TestDb make_test_db(const std::string& driver, bool migrated = true);

}  // namespace fidelis::storage::testing
