// Errors are values: Result<T> is std::expected<T, Error>, marked [[nodiscard]].
//
// An Error carries a category (what kind of failure, so callers can branch on it), the errno of
// the failed system call if there was one, and a context string that each layer extends on the
// way up ("flush pc.ram: post write: remote access error").
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace ftvm {

enum class ErrorCode : uint8_t {
  kSys,              // a system call failed; sys_errno says why
  kInvalidArgument,  // the caller passed something unusable
  kProtocol,         // a malformed or unexpected message from the peer
  kPeerLost,         // connection reset, keepalive expired, retries exceeded
  kTimeout,          // a bounded wait ran out
  kRemoteAccess,     // remote key, bounds or access rights violated
  kFlushed,          // work discarded because the connection was already in error
  kClosed,           // orderly shutdown
  kNotFound,
  kUnsupported,        // a missing device, extension or capability
  kResourceExhausted,  // queue full, memlock limit, out of memory
  kCorrupt,            // checksum or verification mismatch, bad version
  kAborted,            // cancelled on purpose (pause, failover, shutdown)
  kInternal,           // a bug; should not happen
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string context, int sys_errno = 0)
      : code_(code), sys_errno_(sys_errno), context_(std::move(context)) {}

  ErrorCode code() const { return code_; }
  int sys_errno() const { return sys_errno_; }
  const std::string& context() const { return context_; }

  // Prepends "what: " to the context; returns *this for chaining.
  Error& Wrap(std::string_view what) &;
  Error&& Wrap(std::string_view what) &&;

  // "context: strerror(errno)" or "context (protocol error)".
  std::string ToString() const;

 private:
  ErrorCode code_;
  int sys_errno_;
  std::string context_;
};

template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  Result(const Base& b) : Base(b) {}        // NOLINT(google-explicit-constructor)
  Result(Base&& b) : Base(std::move(b)) {}  // NOLINT(google-explicit-constructor)
};

// Builds the unexpected value to return: `return Fail(ErrorCode::kProtocol, "bad len {}", n);`
template <class... Args>
std::unexpected<Error> Fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(std::in_place, code,
                                fmt::format(format, std::forward<Args>(args)...));
}

// Captures errno at the call: `if (fd < 0) return SysFail("open {}", path);`
template <class... Args>
std::unexpected<Error> SysFail(fmt::format_string<Args...> format, Args&&... args) {
  const int saved = errno;
  return std::unexpected<Error>(std::in_place, ErrorCode::kSys,
                                fmt::format(format, std::forward<Args>(args)...), saved);
}

// Same, for APIs that return the error number instead of setting errno (pthread, verbs).
template <class... Args>
std::unexpected<Error> ErrnoFail(int err, fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(std::in_place, ErrorCode::kSys,
                                fmt::format(format, std::forward<Args>(args)...), err);
}

inline std::unexpected<Error> Fail(Error error) { return std::unexpected<Error>(std::move(error)); }

}  // namespace ftvm

#define FTVM_PP_CONCAT_INNER(a, b) a##b
#define FTVM_PP_CONCAT(a, b) FTVM_PP_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define FTVM_TRY(expr)                                                                \
  do {                                                                                \
    auto&& ftvm_try_result_ = (expr);                                                 \
    if (!ftvm_try_result_.has_value()) [[unlikely]]                                   \
      return ::std::unexpected<::ftvm::Error>(::std::move(ftvm_try_result_).error()); \
  } while (0)

// Same, prefixing the error's context: FTVM_TRY_CTX(Send(m), "send commit").
#define FTVM_TRY_CTX(expr, what)                                                                 \
  do {                                                                                           \
    auto&& ftvm_try_result_ = (expr);                                                            \
    if (!ftvm_try_result_.has_value()) [[unlikely]]                                              \
      return ::std::unexpected<::ftvm::Error>(::std::move(ftvm_try_result_).error().Wrap(what)); \
  } while (0)

#define FTVM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                     \
  auto&& tmp = (expr);                                                 \
  if (!tmp.has_value()) [[unlikely]]                                   \
    return ::std::unexpected<::ftvm::Error>(::std::move(tmp).error()); \
  lhs = ::std::move(*tmp)

// FTVM_ASSIGN_OR_RETURN(auto fd, OpenDevice(path));
#define FTVM_ASSIGN_OR_RETURN(lhs, expr) \
  FTVM_ASSIGN_OR_RETURN_IMPL(FTVM_PP_CONCAT(ftvm_assign_tmp_, __COUNTER__), lhs, expr)
