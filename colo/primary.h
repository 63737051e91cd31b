// The primary: runs the protected guest and checkpoints it into the secondary.
//
//   setup     connect (retrying while the secondary starts), Hello/HelloAck, ram/ block tables
//   sync      live rounds of dirty pages while the guest runs, until a round is small
//   colo      checkpoint 1 (guest paused) commits the first full image; then every
//             checkpoint_delay_ms (or on demand, or above dirty_threshold_pages):
//               staged (default): request -> reply -> pause -> harvest -> copy the dirty pages
//                 into the staging mirror -> device state -> resume -> RAM (ram/, from the
//                 mirror) -> device state to the secondary -> received -> loaded
//               direct (QEMU's order): request -> reply -> pause -> harvest -> RAM -> device
//                 state -> received -> [resume] -> loaded
//   alone     the secondary was lost (or an operator failed over): checkpoints stop, the guest
//             keeps running, DEGRADED is reported. The guest never stops for the secondary's sake.
//
// Run() drives everything on the calling thread until quit (EngineControl::RequestQuit or the
// guest exiting) or a local fatal error. Operators talk to control() from other threads.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "colo/engine.h"
#include "colo/link.h"
#include "colo/options.h"
#include "colo/staging.h"
#include "ram/sender.h"
#include "vmm/machine.h"

namespace ftvm::colo {

class Primary {
 public:
  // Creates and boots the VM (paused) and validates the options; does not connect yet.
  static Result<std::unique_ptr<Primary>> Create(PrimaryOptions options);
  ~Primary();

  EngineControl& control() { return control_; }
  vmm::Machine& machine() { return *machine_; }

  // Runs the guest and the checkpoint loop until quit. Returns the guest's fate: ok after an
  // orderly quit or guest exit, an error after a local fatal failure.
  Result<void> Run();

 private:
  explicit Primary(PrimaryOptions options);
  Result<void> Start();
  Result<void> Setup();
  Result<void> InitialSync();
  // Sends one sync round in slices (options_.sync_slice_pages), reporting progress after each.
  Result<ram::RoundSummary> SendSyncRound(uint32_t round_no, const vmm::DirtyBitmaps& round,
                                          uint64_t sync_start_ns);
  Result<void> CheckpointLoop();
  Result<bool> WaitForTrigger();
  Result<void> Checkpoint(uint64_t n);
  Result<void> CheckpointStaged(uint64_t n, CheckpointSample& s, uint64_t begin,
                                uint64_t paused_at);
  Result<void> CheckpointDirect(uint64_t n, CheckpointSample& s, uint64_t begin,
                                uint64_t paused_at);
  Result<void> ResumeAfter(uint64_t n, CheckpointSample& s, uint64_t begin, uint64_t paused_at);
  Result<void> SendRam(uint64_t n, CheckpointSample& s);
  Result<void> SaveDeviceState(uint64_t n, CheckpointSample& s);
  Result<void> SendVmstate(uint64_t n, std::span<const std::byte> blob);
  // Waits for the secondary's message T of checkpoint `n` (bounded by checkpoint_timeout_ms).
  template <class T>
  Result<T> Await(uint64_t n, const char* what);
  Result<void> ResumeGuest();
  Result<void> HarvestInto(vmm::DirtyBitmaps& accumulated);
  // Harvests into pending_dirty_ (and, with staging, uncaptured_).
  Result<void> HarvestPending();
  // Copies the uncaptured pages into the staging mirror; returns the bytes.
  uint64_t CaptureUncaptured();
  Result<void> Precapture();
  void LoseSecondary(const Error& why, bool requested);
  Result<void> RunAlone();
  Result<void> Quit();
  // Marks a failure of this host (the VM, not the peer) as fatal on its way up.
  template <class T>
  Result<T> Local(Result<T> result) {
    if (!result && !fatal_) fatal_ = result.error();
    return result;
  }
  void PublishReplication();
  std::vector<ram::RamBlock> RamViews() const;

  PrimaryOptions options_;
  EngineControl control_;
  std::unique_ptr<vmm::Machine> machine_;
  std::optional<Staging> staging_;  // what ram/ sends from (when staging is on)
  std::unique_ptr<PeerLink> link_;  // declared before sender_: the sender borrows it
  std::unique_ptr<ram::RamSender> sender_;
  vmm::DirtyBitmaps pending_dirty_;  // harvested, not yet checkpointed
  vmm::DirtyBitmaps uncaptured_;     // staging: harvested, not yet copied into the mirror
  vmm::DirtyBitmaps harvest_;        // scratch
  std::vector<std::byte> blob_;
  std::optional<uint64_t> ram_hash_;  // verify mode: all guest RAM at the checkpoint's pause
  uint64_t checkpoint_ = 0;           // last checkpoint number started
  uint64_t last_end_ns_ = 0;          // when the previous checkpoint ended
  uint64_t start_ns_ = 0;
  uint64_t last_harvest_ns_ = 0;
  uint64_t ram_id_ = 0;
  uint64_t last_summary_ns_ = 0;  // ram/ ids: sync rounds, then checkpoints
  uint64_t sync_bytes_ = 0;       // page data sent by the initial sync
  std::optional<Error> fatal_;    // a local failure: stop, do not fail over
};

}  // namespace ftvm::colo
