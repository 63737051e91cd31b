#include "app/sync_progress.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "base/strings.h"
#include "base/time.h"

namespace ftvm::app {
namespace {

constexpr uint64_t kTtyEveryNs = 100'000'000;      // 10 redraws a second at most
constexpr uint64_t kPlainEveryNs = 2'000'000'000;  // a log line every 2 s at most

std::string Describe(const colo::SyncProgress& p) {
  const double seconds = static_cast<double>(p.elapsed_ns) / 1e9;
  const double rate = seconds > 0 ? static_cast<double>(p.bytes_sent) / seconds : 0;
  const uint64_t left_bytes = (p.round_pages - p.round_pages_done) * 4096;
  const double percent = p.round_pages == 0 ? 100.0
                                            : 100.0 * static_cast<double>(p.round_pages_done) /
                                                  static_cast<double>(p.round_pages);
  std::string eta = "-";
  if (rate > 0) eta = fmt::format("{:.1f} s", static_cast<double>(left_bytes) / rate);
  return fmt::format(
      "initial sync round {}: {:5.1f}% of {} pages, {} sent ({} of RAM), {:.0f} MB/s, "
      "round ETA {}",
      p.round, percent, p.round_pages, FormatBytes(p.bytes_sent), FormatBytes(p.ram_bytes),
      rate / 1e6, eta);
}

struct PrinterState {
  bool tty = false;
  uint64_t last_ns = 0;
};

void Print(PrinterState& state, const colo::SyncProgress& p) {
  const uint64_t now = MonotonicNs();
  const bool round_end = p.round_pages_done >= p.round_pages;
  if (p.done) {
    const std::string text =
        fmt::format("initial sync done: {} rounds, {} sent in {:.2f} s", p.round,
                    FormatBytes(p.bytes_sent), static_cast<double>(p.elapsed_ns) / 1e9);
    std::fprintf(stderr, "%s%s\n", state.tty ? "\r\033[K" : "", text.c_str());
    return;
  }
  if (state.tty) {
    // Redraw in place; end the line with its round so the engine's own log line follows it.
    if (!round_end && now - state.last_ns < kTtyEveryNs) return;
    std::fprintf(stderr, "\r\033[K%s%s", Describe(p).c_str(), round_end ? "\n" : "");
  } else {
    if (round_end || now - state.last_ns < kPlainEveryNs) return;  // rounds are logged anyway
    std::fprintf(stderr, "%s\n", Describe(p).c_str());
  }
  std::fflush(stderr);
  state.last_ns = now;
}

}  // namespace

colo::SyncProgressCallback MakeSyncProgressPrinter() {
  auto state = std::make_shared<PrinterState>();
  state->tty = ::isatty(STDERR_FILENO) == 1;
  state->last_ns = MonotonicNs();
  return [state](const colo::SyncProgress& p) { Print(*state, p); };
}

}  // namespace ftvm::app
