#pragma once
// Versioned schema migrations: migrations/NNNN_name.sql, compiled into the binary, applied in order
// by `fidelis migrate` and at server start. All pending migrations apply in one transaction under a
// lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so concurrent starters are safe.
//
// The SQL is one dialect with tokens the driver replaces:
//   {{id}}      auto-increment BIGINT primary key  (INTEGER PRIMARY KEY / BIGINT GENERATED ... IDENTITY)
//   {{binary}}  byte-order collation for key columns (COLLATE BINARY / COLLATE "C")

#include <string>
#include <vector>

#include "storage/db.h"

namespace fidelis::storage {

struct Migration {
  int64_t version = 0;  // from the file name's leading digits
  std::string name;
  std::string sql;
};

// The embedded migrations, sorted by version.
std::vector<Migration> embedded_migrations();
// Replaces the dialect tokens.
std::string render_sql(std::string_view sql, Dialect dialect);
// Applies pending migrations; returns the versions it applied (empty when up to date).
Result<std::vector<int64_t>> migrate(Db& db, int64_t now_ms);

}  // namespace fidelis::storage
