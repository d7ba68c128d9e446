#pragma once
// Internal to the imports module: how an import finds the customers a row may be.

#include <memory>

#include "imports/imports.h"

namespace fidelis::imports {

// What an import row is matched by, prepared on the reading threads while the previous batch is
// written.
struct RowKeys {
  dedup::Record record;          // merging::record_of(the row's input)
  bool hashed = false;           // query and stored are set (only a memory matcher needs them)
  std::vector<uint64_t> query;   // merging::KeyIndex::query_keys(record)
  std::vector<uint64_t> stored;  // merging::KeyIndex::stored_keys(the row's input)
};
RowKeys row_keys(const customers::CustomerInput& in, bool hashed);

// The look-ups an import row needs beside the external-id primary key: duplicate candidates and
// the owner of an e-mail address. Calls happen inside the batch's transaction.
class RowMatcher {
 public:
  virtual ~RowMatcher() = default;
  // Live customers that may be the person of `r`, scored, best first (merging::find_candidates).
  virtual Result<std::vector<merging::Candidate>> candidates(storage::Tx& tx, const RowKeys& k) = 0;
  // The live customer (lowest id) that has `email`, if any.
  virtual Result<std::optional<int64_t>> email_owner(storage::Tx& tx, std::string_view email) = 0;
  // The row's profile was stored as customer `id` (its keys are the row's), or merged into it or
  // changed on the way (`reread`: its keys are read back as stored now, inside `tx`).
  virtual Status stored(storage::Tx& tx, int64_t id, const RowKeys& k, bool reread) = 0;
  // Whether candidates() and stored() need the keys hashed.
  virtual bool wants_hashes() const = 0;
  // Around each batch's transaction: first thing in it, last thing in it, after it committed.
  virtual Status batch_begins(storage::Tx& tx) = 0;
  virtual Status batch_ends(storage::Tx& tx) = 0;
  virtual void batch_committed() = 0;
  // Bytes of memory its look-ups hold (0 for the database's indexes).
  virtual size_t memory_bytes() const = 0;
};

// Through the database's indexes (the usual case).
std::unique_ptr<RowMatcher> indexed_matcher(const dedup::Model& model);
// Through a merging::KeyIndex loaded from the base, fed with every row stored and, at each batch,
// with the profiles other writers changed since the last one (read from the event outbox): what a
// bulk load uses while the secondary indexes are set aside. Its memory grows with the base and
// the file.
Result<std::unique_ptr<RowMatcher>> memory_matcher(storage::Db& db, const dedup::Model& model);

// How an import finds the customers a row may be, decided on its first batch.
struct MatchPlan {
  std::unique_ptr<RowMatcher> matcher;
  bool dropped = false;  // this run set the indexes aside and rebuilds them at the end
};
// Chooses the matcher for an import of about `estimated_rows` rows in `mode` (imports.h: BulkMode)
// and, for a bulk load, sets the indexes aside (given back if anything after that fails).
Result<MatchPlan> plan_matching(storage::Db& db, BulkMode mode, const dedup::Model& model, int64_t estimated_rows);

// A consent as mappings, headers and ImportOptions::consents name it: "CHANNEL:PURPOSE", or
// "CHANNEL" alone when `channel_alone` ("email": its newsletter and offers). InvalidArgument naming
// `field` when the channel or purpose is unknown, or the purpose is missing.
struct ConsentSpec {
  customers::Channel channel;
  std::optional<customers::Purpose> purpose;
};
Result<ConsentSpec> read_consent_spec(std::string_view spec, const std::string& field, bool channel_alone);

// Secondary indexes a bulk load sets aside: those with keys in no particular order, which every
// batch would otherwise rewrite all over.
std::span<const std::string_view> bulk_tables();
std::span<const std::string_view> bulk_kept_indexes();

}  // namespace fidelis::imports
