#include "storage/test_db.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "storage/migrate.h"

namespace fidelis::storage::testing {

OnExit removing(std::filesystem::path dir) {
  return OnExit([dir = std::move(dir)] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
}

TestDb make_test_db(const std::string& driver, bool migrated) {
  TestDb out;
  static std::atomic<int> counter{0};
  std::random_device rd;
  std::string unique = fmt::format("{}_{}_{}", getpid(), counter++, rd() % 100000);
  if (driver == "sqlite") {
    auto dir = std::filesystem::temp_directory_path() / ("fidelis_test_" + unique);
    std::filesystem::create_directories(dir);
    out.url = "sqlite:" + (dir / "test.db").string();
    out.remove = removing(dir);
  } else {
    const char* base = std::getenv("FIDELIS_TEST_PG");
    if (base == nullptr || *base == '\0') {
      const char* skip = std::getenv("FIDELIS_TEST_SKIP_PG");
      if (skip != nullptr && std::string(skip) == "1") {
        out.skipped = "FIDELIS_TEST_PG is not set and FIDELIS_TEST_SKIP_PG=1";
        return out;
      }
      std::fprintf(stderr, "FIDELIS_TEST_PG is not set: run the tests through `make test`\n");
      std::abort();
    }
    std::string schema = "t_" + unique;
    auto admin = Db::open(base);
    if (!admin) {
      std::fprintf(stderr, "cannot reach FIDELIS_TEST_PG: %s\n", admin.error().message.c_str());
      std::abort();
    }
    if (auto r = (*admin)->exec("CREATE SCHEMA " + schema); !r) std::abort();
    out.remove = OnExit([base = std::string(base), schema] {
      if (auto admin = Db::open(base)) (void)(*admin)->exec("DROP SCHEMA " + schema + " CASCADE");
    });
    std::string sep = std::string(base).find('?') == std::string::npos ? "?" : "&";
    out.url = std::string(base) + sep + "options=-csearch_path%3D" + schema;
  }
  auto db = Db::open(out.url, DbOptions{.pool_size = 4});
  if (!db) {
    std::fprintf(stderr, "cannot open test database %s: %s\n", out.url.c_str(), db.error().message.c_str());
    std::abort();
  }
  out.db = std::move(*db);
  if (migrated) {
    if (auto m = migrate(*out.db, 0); !m) {
      std::fprintf(stderr, "migration failed: %s\n", m.error().message.c_str());
      std::abort();
    }
  }
  return out;
}

}  // namespace fidelis::storage::testing
