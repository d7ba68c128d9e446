#pragma once
// Versioned schema migrations: migrations/NNNN_name.sql, compiled into the binary, applied in order
// by `fidelis migrate` and at server start. All pending migrations apply in one transaction under a
// lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so concurrent starters are safe.
//
// The SQL is one dialect with tokens the driver replaces:
//   {{id}}      auto-increment BIGINT primary key  (INTEGER PRIMARY KEY / BIGINT GENERATED ... IDENTITY)
//   {{binary}}  byte-order collation for key columns (COLLATE BINARY / COLLATE "C")
//   {{without_rowid}}  after a table with a composite primary key: SQLite stores the rows in the
//               primary-key B-tree itself (one search per look-up instead of two); nothing on PostgreSQL
//   {{rowid_key}}  a BIGINT primary key given by the caller (INTEGER PRIMARY KEY, the rowid, on SQLite)
//   {{now}}     the time the migration is applied, epoch milliseconds (for seeded rows)

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

// Bulk loads into large tables run faster without their secondary indexes, rebuilt once at the end
// (a sort instead of millions of random B-tree inserts). The dropped indexes' DDL is kept in the
// database in the same transaction as the drop, so an interrupted load gets them back at the next
// migrate (every start runs one). Primary keys, unique constraints and indexes, indexes led by
// customer_id (which a load in id order appends to cheaply) and the indexes named in `keep` stay.
// Other writers stay correct meanwhile (nothing that enforces uniqueness is dropped), but their
// look-ups through a dropped index scan the table until it is back. Returns how many it dropped.
Result<int> drop_indexes_for_bulk(Db& db, std::span<const std::string_view> tables,
                                  std::span<const std::string_view> keep = {});
Status restore_bulk_indexes(Db& db);

}  // namespace fidelis::storage
