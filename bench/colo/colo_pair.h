// A real primary + secondary engine pair in this process (each Run() on its own thread, over a
// Channel on loopback), driven the way the checkpoint benchmark needs: the primary runs the
// dirtier guest with round_pages = kRoundPages, which stops after every round and waits for the
// mailbox's `go`; the bench lets it dirty an exact number of pages, waits until it stopped, and
// then asks for a checkpoint (checkpoint-now), so each checkpoint carries exactly that epoch's
// pages. The engines' own period is set out of the way unless a case sets it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "colo/primary.h"
#include "colo/secondary.h"

namespace ftvm::colo::bench {

inline constexpr uint64_t kRoundPages = 100;  // dirtier round; dirty counts are multiples

// staged+pre: the staged order with precapture (PairConfig::precapture_ms).
enum class Order : uint8_t { kStaged, kStagedPre, kDirect, kDirectLoaded };
const char* OrderName(Order order);  // "staged", "staged+pre", "direct", "direct+loaded"

struct PairConfig {
  std::string uri = "tcp://127.0.0.1:0";
  uint64_t ram_bytes = 1ull << 30;
  Order order = Order::kStaged;
  bool fill = false;    // host-write every data page before the guest starts ("fully written")
  bool passive = true;  // the secondary guest stays paused between checkpoints
  bool verify = false;  // ram/'s XXH3 check of each checkpoint's pages
  uint32_t precapture_ms = 5;  // staged+pre only (PrimaryOptions::precapture_ms)
  std::string guest_args;      // empty: the dirtier in rounds of kRoundPages
};

// What the bench thread saw of one checkpoint (from the primary's checkpoint event).
struct CheckpointSeen {
  uint64_t n = 0;
  uint64_t at_ns = 0;
  uint64_t downtime_ns = 0;
  uint64_t ram_bytes = 0;
};

class EnginePair {
 public:
  // Creates both engines, starts their threads and waits until the primary entered COLO mode.
  static Result<std::unique_ptr<EnginePair>> Start(const PairConfig& config);
  ~EnginePair();  // Stop() if not done
  EnginePair(const EnginePair&) = delete;
  EnginePair& operator=(const EnginePair&) = delete;

  // Setup (connect, allocations, handshake) and initial sync + checkpoint 1, as the bench
  // thread saw the primary's status change (1 ms polling).
  uint64_t setup_ns() const { return setup_ns_; }
  uint64_t sync_ns() const { return sync_ns_; }

  // Lets the guest dirty `pages` more pages (a multiple of kRoundPages) and waits until it
  // stopped again.
  Result<void> Dirty(uint64_t pages);
  // Lets the guest start `pages` more pages without waiting.
  Result<void> Release(uint64_t pages);
  // Lets the guest run until `pages` pages past where it is now (paced runs).
  Result<void> ReleaseAhead(uint64_t pages);
  // Checkpoint-now; returns once it was committed (the primary saw `loaded`).
  Result<CheckpointSeen> Checkpoint();
  // Checkpoints the primary finished since the call that returned `since`.
  std::vector<CheckpointSeen> CheckpointsSince(size_t since) const;
  size_t checkpoint_count() const;

  // Pages the guest wrote so far (its status page).
  uint64_t guest_pages_written() const;
  EngineControl& primary() { return primary_->control(); }
  EngineControl& secondary() { return secondary_->control(); }
  // Stops both engines and joins them; the first engine error, if any.
  Result<void> Stop();

 private:
  EnginePair() = default;
  Result<void> WaitForColo();
  Result<void> EngineFailed() const;
  void OnEvent(const EngineEvent& e);

  std::unique_ptr<Secondary> secondary_;
  std::unique_ptr<Primary> primary_;
  std::thread secondary_thread_;
  std::thread primary_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CheckpointSeen> seen_;
  std::optional<Error> primary_error_;
  std::optional<Error> secondary_error_;
  bool primary_done_ = false;
  bool secondary_done_ = false;
  bool stopped_ = false;
  uint64_t released_rounds_ = 0;  // mailbox.go
  uint64_t setup_ns_ = 0;
  uint64_t sync_ns_ = 0;
};

}  // namespace ftvm::colo::bench
