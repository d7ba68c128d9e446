// Idempotency-Key on creates, shared by the route files.

#include "http/api.h"

namespace fidelis::http {

// Idempotency-Key on POST: the first request's answer is stored under (caller, key) and replayed to
// retries, so a retried create never creates twice. The key is claimed before the work runs, so two
// concurrent retries cannot both run it.
Response idempotent(Context& ctx, storage::Db& db, const Clock& clock, const std::function<Response()>& work) {
  std::string key(ctx.req.header("Idempotency-Key"));
  if (key.empty()) return work();
  if (key.size() > 200) return problem(Error::invalid_argument("Idempotency-Key", "is longer than 200 characters"));
  std::string actor = ctx.actor.type + ":" + std::to_string(ctx.actor.id.value_or(0));
  std::string route = ctx.req.method + " " + ctx.req.path;
  std::string request_hash = auth::token_hash(ctx.req.body);
  storage::Value claim[] = {key, actor, route, clock.now(), request_hash};
  Status claimed = db.transact([&](storage::Tx& tx) -> Status {
    return tx.exec("INSERT INTO idempotency_keys (key, actor, route, request_hash, status, headers, body, created_at) "
                   "VALUES ($1, $2, $3, $5, 0, '', '', $4)",
                   claim)
        .has_value()
               ? ok()
               : Status(Error::already_exists("Idempotency-Key", "used"));
  });
  if (!claimed) {
    storage::Value look[] = {key, actor};
    auto row = db.one("SELECT route, status, body, headers, request_hash FROM idempotency_keys WHERE key = $1 AND actor = $2",
                      look);
    if (!row || !*row) return problem(claimed.error());
    if ((*row)->str(0) != route || (*row)->str(4) != request_hash)
      return problem(Error::invalid_argument("Idempotency-Key", "was already used for a different request"));
    if ((*row)->i64(1) == 0)
      return problem(Error::conflict("a request with this Idempotency-Key is still in progress; retry shortly"));
    Response replay;
    replay.status = static_cast<int>((*row)->i64(1));
    replay.body = (*row)->str(2);
    replay.set("Content-Type", replay.status < 300 ? "application/json" : "application/problem+json");
    std::string headers = (*row)->str(3);  // "Name: value" lines
    size_t start = 0;
    while (start < headers.size()) {
      size_t end = headers.find('\n', start);
      if (end == std::string::npos) end = headers.size();
      std::string line = headers.substr(start, end - start);
      if (auto colon = line.find(": "); colon != std::string::npos) replay.set(line.substr(0, colon), line.substr(colon + 2));
      start = end + 1;
    }
    replay.set("Idempotent-Replayed", "true");
    return replay;
  }
  storage::Value del[] = {key, actor};
  auto forget = [&] {
    (void)db.transact([&](storage::Tx& tx) -> Status {
      FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM idempotency_keys WHERE key = $1 AND actor = $2", del));
      return ok();
    });
  };
  Response res;
  try {
    res = work();
  } catch (...) {
    forget();  // a server fault: the key is free again, for a real retry
    throw;
  }
  if (res.status >= 500) {  // a server fault: let the client retry for real
    forget();
    return res;
  }
  std::string kept;
  for (const auto& h : res.headers)
    if (h.name == "ETag" || h.name == "Location") kept += h.name + ": " + h.value + "\n";
  storage::Value done[] = {key, actor, static_cast<int64_t>(res.status), res.body, kept};
  (void)db.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("UPDATE idempotency_keys SET status = $3, body = $4, headers = $5 WHERE key = $1 AND actor = $2", done));
    return ok();
  });
  return res;
}

}  // namespace fidelis::http
