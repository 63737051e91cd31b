#include "control/splitter.h"

#include <utility>

namespace ftvm::control {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Bytes that end a bare scalar token (and start something else).
bool EndsScalar(char c) {
  return IsSpace(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == '"' || c == ',' ||
         c == ':';
}

}  // namespace

void JsonSplitter::Begin(char c) {
  start_ = scan_;
  depth_ = 0;
  in_string_ = false;
  escaped_ = false;
  if (c == '{' || c == '[') {
    mode_ = Mode::kStructure;
  } else if (c == '"') {
    mode_ = Mode::kString;
  } else {
    mode_ = Mode::kScalar;
  }
}

bool JsonSplitter::Step(char c) {
  switch (mode_) {
    case Mode::kBetween:
      break;
    case Mode::kScalar:
      // A stray closing or separator byte is a one-byte text; anything else runs until a byte
      // that cannot belong to a literal (the caller checks EndsScalar before stepping).
      return c == '}' || c == ']' || c == ',' || c == ':';
    case Mode::kString:
      if (scan_ == start_) return false;  // the opening quote
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        return true;
      }
      return false;
    case Mode::kStructure:
      if (in_string_) {
        if (escaped_) {
          escaped_ = false;
        } else if (c == '\\') {
          escaped_ = true;
        } else if (c == '"') {
          in_string_ = false;
        }
        return false;
      }
      if (c == '"') {
        in_string_ = true;
      } else if (c == '{' || c == '[') {
        ++depth_;
      } else if (c == '}' || c == ']') {
        return --depth_ == 0;
      }
      return false;
  }
  return false;
}

std::string JsonSplitter::Take(size_t end) {
  std::string text = buffer_.substr(start_, end - start_);
  mode_ = Mode::kBetween;
  start_ = end;
  return text;
}

Result<std::optional<std::string>> JsonSplitter::Next() {
  if (error_) return Fail(*error_);
  while (scan_ < buffer_.size()) {
    const char c = buffer_[scan_];
    if (mode_ == Mode::kBetween) {
      if (IsSpace(c)) {
        start_ = ++scan_;
        continue;
      }
      Begin(c);
    } else if (mode_ == Mode::kScalar && scan_ > start_ && EndsScalar(c)) {
      return Take(scan_);  // the terminating byte starts the next text
    }
    const bool done = Step(c);
    ++scan_;
    if (scan_ - start_ > limits_.max_message_bytes) {
      error_.emplace(ErrorCode::kResourceExhausted,
                     fmt::format("message exceeds {} bytes", limits_.max_message_bytes));
      return Fail(*error_);
    }
    if (depth_ > limits_.max_depth) {
      error_.emplace(ErrorCode::kResourceExhausted,
                     fmt::format("JSON nesting deeper than {} levels", limits_.max_depth));
      return Fail(*error_);
    }
    if (done) return Take(scan_);
  }
  // Drop what has been consumed so the buffer holds only the partial text.
  buffer_.erase(0, start_);
  scan_ -= start_;
  start_ = 0;
  return std::nullopt;
}

}  // namespace ftvm::control
