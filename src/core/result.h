#pragma once
// Result<T> and Error: how every fallible function in Fidelis reports failure.
// Exceptions come only from third-party code and are caught at the edge that calls it.

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fidelis {

// The closed set of error codes. Each says when to use it; only http/errors.cpp turns a code into
// an HTTP status.
enum class Code {
  kInvalidArgument,     // the caller sent something malformed or out of range; `field` names it.
  kNotFound,            // the thing named does not exist (or is deleted, or the caller may not see it).
  kAlreadyExists,       // a create collides with a unique key (e-mail, API key name, ...).
  kFailedPrecondition,  // the request is well-formed but the state forbids it now (stale ETag, ...).
  kConflict,            // concurrent change lost a race; retrying may succeed.
  kPermissionDenied,    // authenticated, but the role or scope does not allow this.
  kUnauthenticated,     // no valid credentials.
  kResourceExhausted,   // a limit or a rate was exceeded (login throttling, body size, rows).
  kUnavailable,         // a dependency (database, SMTP) is down or busy; retry later.
  kInternal,            // a bug or an invariant broken; never the caller's fault.
};

std::string_view code_name(Code code);

// One invalid field of a request and why.
struct FieldError {
  std::string field, message;
};

struct Error {
  Code code = Code::kInternal;
  std::string field;    // the offending input field ("email", "birth_date", "If-Match"), or empty.
  std::string message;  // a sentence for a human, in English.
  // The other invalid fields of the same request, when it had several (a form to correct at once):
  // the HTTP problem lists this error and these under `errors`.
  std::vector<FieldError> more;

  static Error invalid_argument(std::string field, std::string message) {
    return {Code::kInvalidArgument, std::move(field), std::move(message)};
  }
  static Error not_found(std::string field, std::string message) {
    return {Code::kNotFound, std::move(field), std::move(message)};
  }
  static Error already_exists(std::string field, std::string message) {
    return {Code::kAlreadyExists, std::move(field), std::move(message)};
  }
  static Error failed_precondition(std::string field, std::string message) {
    return {Code::kFailedPrecondition, std::move(field), std::move(message)};
  }
  static Error conflict(std::string message) { return {Code::kConflict, {}, std::move(message)}; }
  static Error permission_denied(std::string message) {
    return {Code::kPermissionDenied, {}, std::move(message)};
  }
  static Error unauthenticated(std::string message) {
    return {Code::kUnauthenticated, {}, std::move(message)};
  }
  static Error resource_exhausted(std::string field, std::string message) {
    return {Code::kResourceExhausted, std::move(field), std::move(message)};
  }
  static Error unavailable(std::string message) { return {Code::kUnavailable, {}, std::move(message)}; }
  static Error internal(std::string message) { return {Code::kInternal, {}, std::move(message)}; }
};

// std::expected<T, Error> that also accepts a bare Error, so `return Error::not_found(...);` works.
template <typename T>
class Result : public std::expected<T, Error> {
 public:
  using std::expected<T, Error>::expected;
  Result(Error e) : std::expected<T, Error>(std::unexpect, std::move(e)) {}  // NOLINT: implicit by design
};
using Status = Result<void>;

inline Status ok() { return {}; }

// Several errors of one request as one: the first, with the others (and the ones each carried in
// its own `more`) as its `more`, in order. `errors` must not be empty.
Error combined(std::vector<Error> errors);

}  // namespace fidelis

namespace fidelis::detail {
template <typename T>
inline std::unexpected<Error> take_error(std::expected<T, Error>& r) {
  return std::unexpected<Error>(std::move(r.error()));
}
}  // namespace fidelis::detail

#define FIDELIS_CONCAT_INNER(a, b) a##b
#define FIDELIS_CONCAT(a, b) FIDELIS_CONCAT_INNER(a, b)

// FIDELIS_ASSIGN_OR_RETURN(Type var, expr): evaluates expr (a Result); returns its error, or
// declares `var` from its value.
#define FIDELIS_ASSIGN_OR_RETURN(decl, expr) \
  FIDELIS_ASSIGN_OR_RETURN_IMPL(FIDELIS_CONCAT(fidelis_result_, __LINE__), decl, expr)
#define FIDELIS_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                   \
  if (!tmp) return ::fidelis::detail::take_error(tmp); \
  decl = std::move(*tmp)

// FIDELIS_RETURN_IF_ERROR(expr): evaluates expr (a Status or Result); returns its error if any.
#define FIDELIS_RETURN_IF_ERROR(expr)                                      \
  do {                                                                     \
    auto fidelis_status_ = (expr);                                         \
    if (!fidelis_status_) return ::fidelis::detail::take_error(fidelis_status_); \
  } while (false)
