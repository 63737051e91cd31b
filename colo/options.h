// Options of the two checkpoint engines (set from the command line by app/).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "colo/engine.h"
#include "colo/kill_point.h"
#include "ram/receiver.h"
#include "ram/sender.h"
#include "rdma/channel.h"
#include "vmm/machine.h"

namespace ftvm::colo {

struct CommonOptions {
  rdma::ChannelOptions channel;
  Parameters parameters;  // run-time tunables (set-parameters)
  uint32_t heartbeat_interval_ms = 100;
  uint32_t checkpoint_timeout_ms = 10'000;  // longest wait for one step of a checkpoint
  std::optional<KillPoint> kill_at;         // fault injection (tests)
};

// Where the initial sync stands (PrimaryOptions::sync_progress), after each slice of a round.
struct SyncProgress {
  uint32_t round = 0;             // 1 = every page; later rounds: pages dirtied meanwhile
  uint64_t round_pages = 0;       // pages in this round
  uint64_t round_pages_done = 0;  // of them, sent so far
  uint64_t bytes_sent = 0;        // page data on the wire so far, every round (zero pages: none)
  uint64_t ram_bytes = 0;         // guest RAM
  uint64_t elapsed_ns = 0;        // since the sync began
  bool done = false;              // the last call: the sync is over
};
using SyncProgressCallback = std::function<void(const SyncProgress&)>;

struct PrimaryOptions : CommonOptions {
  std::string peer_uri;                              // "tcp://host:port" or "rdma://host:port"
  std::chrono::milliseconds connect_window{30'000};  // keep retrying while the secondary starts
  vmm::MachineConfig machine;
  ram::SenderOptions ram;
  bool passive = false;  // the secondary guest stays paused between checkpoints
  bool staging = true;   // send checkpoints from a mirror; resume before the wire
  // Staging: every this many ms between checkpoints, harvest and copy dirty pages into the
  // mirror while the guest runs, so the pause copies only what changed since (0: off). Costs
  // the guest one more write fault per page it rewrites within each interval.
  uint32_t precapture_ms = 0;
  bool resume_after_received = true;     // direct order: resume once the secondary has it all
  uint32_t max_sync_rounds = 8;          // live rounds of the initial sync
  uint64_t sync_converged_pages = 4096;  // a round with fewer dirty pages ends the sync
  uint32_t vmstate_fragment_bytes = 0;   // 0: as large as a channel message allows
  // Initial-sync progress, called on the engine thread (keep it short: the link waits). Rounds
  // go out in slices of at most sync_slice_pages (each its own ram/ sync round) so that even
  // the first round, all of RAM, reports progress.
  SyncProgressCallback sync_progress;
  uint64_t sync_slice_pages = 16384;  // 64 MiB
};

// How long a pause or resume of the guest's vCPUs may take before it is a local failure: the
// checkpoint step bound, not vmm's 2 s default, so a vCPU thread starved for a moment on a
// loaded host delays a checkpoint instead of failing the process (and its guest).
inline std::chrono::milliseconds VcpuTimeout(const CommonOptions& options) {
  return std::chrono::milliseconds(options.checkpoint_timeout_ms);
}

// How long a side waits for its goodbye to leave before closing the link anyway.
inline std::chrono::milliseconds GoodbyeTimeout() { return std::chrono::milliseconds(1000); }

struct SecondaryOptions : CommonOptions {
  std::string listen_uri;
  std::chrono::milliseconds accept_timeout{-1};  // negative: wait forever for the primary
  ram::ReceiverOptions ram;
  vmm::SerialOptions serial;  // the secondary guest's console
  vmm::DirtyMode dirty_mode = vmm::DirtyMode::kAuto;
};

}  // namespace ftvm::colo
