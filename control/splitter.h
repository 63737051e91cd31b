// Cuts a byte stream into top-level JSON texts, the way QEMU's JSON streamer frames QMP.
//
// A text ends when its braces and brackets balance (strings and escapes honoured), so requests
// need no newline between them and may span lines. A token outside any object or array (a bare
// number, a lone '}') is a text of its own, which the request parser then rejects with a
// precise error, and the stream goes on. Only a text that outgrows the limits cannot be
// resynchronised: that error is sticky and the caller should disconnect.
//
// Memory: the splitter holds the unscanned input plus at most one partial text. Callers append
// bounded chunks and drain with Next() before appending more, so a client can never make it
// hold more than about max_message_bytes + one chunk.
//
// Not thread-safe (one per connection).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ftvm::control {

struct SplitterLimits {
  size_t max_message_bytes = 64 * 1024;
  size_t max_depth = 128;  // nested objects/arrays; QMP requests need a handful
};

class JsonSplitter {
 public:
  explicit JsonSplitter(SplitterLimits limits = {}) : limits_(limits) {}

  void Append(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete text (without surrounding whitespace); nullopt when more input is
  // needed. kResourceExhausted when a text exceeds max_message_bytes or max_depth; every later
  // call returns the same error.
  Result<std::optional<std::string>> Next();

  // True while a text has begun but not ended: at end of input, the client sent half a message.
  bool in_text() const { return mode_ != Mode::kBetween; }
  // Bytes held: the partial text plus input not yet scanned.
  size_t buffered_bytes() const { return buffer_.size() - start_; }

 private:
  enum class Mode { kBetween, kStructure, kString, kScalar };

  // Consumes buffer_[scan_]; returns true when that byte completes the current text.
  bool Step(char c);
  void Begin(char c);
  std::string Take(size_t end);

  SplitterLimits limits_;
  std::string buffer_;
  size_t start_ = 0;  // first byte of the current text (or of unscanned input)
  size_t scan_ = 0;   // next byte to look at
  Mode mode_ = Mode::kBetween;
  size_t depth_ = 0;
  bool in_string_ = false;  // inside a string within a structure
  bool escaped_ = false;    // previous byte was a backslash inside a string
  std::optional<Error> error_;
};

}  // namespace ftvm::control
