#include "base/result.h"

#include <cstring>

namespace ftvm {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSys:
      return "system error";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kProtocol:
      return "protocol error";
    case ErrorCode::kPeerLost:
      return "peer lost";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kRemoteAccess:
      return "remote access error";
    case ErrorCode::kFlushed:
      return "flushed";
    case ErrorCode::kClosed:
      return "closed";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kAborted:
      return "aborted";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

Error& Error::Wrap(std::string_view what) & {
  context_ = context_.empty() ? std::string(what) : fmt::format("{}: {}", what, context_);
  return *this;
}

Error&& Error::Wrap(std::string_view what) && { return std::move(Wrap(what)); }

std::string Error::ToString() const {
  if (sys_errno_ != 0) {
    return fmt::format("{}: {}", context_, std::strerror(sys_errno_));
  }
  return fmt::format("{} ({})", context_, ErrorCodeName(code_));
}

}  // namespace ftvm
