// Stands in for colo/'s loop on the secondary in tests: polls the channel on its own thread,
// hands ram/ messages to a RamReceiver and, when a checkpoint is complete, commits it (or
// discards it when the test asked for that). Records what happened for the test to inspect.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "ram/receiver.h"
#include "rdma/channel.h"

namespace ftvm::ram::testing {

class SecondaryLoop {
 public:
  SecondaryLoop(rdma::Channel* channel, RamReceiver* receiver);
  ~SecondaryLoop();

  void Start();
  // Stops the thread (after it drained what is queued) and joins it.
  void Stop();

  // Checkpoint ids to discard instead of committing; set before they arrive.
  void DiscardCheckpoint(uint64_t id);
  // Checkpoints from `id` on are left complete but never committed (as when colo/ waits for
  // device state that never comes).
  void HoldFrom(uint64_t id);
  // Called on the loop's thread after every ram/ message with the receiver's checkpoint id and
  // state (set before Start()).
  void SetObserver(std::function<void(uint64_t, ReceiverState)> observer) {
    observer_ = std::move(observer);
  }
  // What the loop last saw (published after every message, readable from any thread).
  uint64_t seen_checkpoint() const { return seen_checkpoint_.load(); }
  ReceiverState seen_state() const { return seen_state_.load(); }
  uint64_t committed() const { return committed_.load(); }
  // Messages of other layers (colo/) to send right after a checkpoint's Begin is handled.
  void SendForeignOnBegin(std::vector<std::byte> message);

  std::vector<CommitSummary> commits() const;
  std::vector<uint64_t> discarded() const;
  std::optional<Error> error() const;
  // Waits until the loop met an error (e.g. the channel failed); false on timeout.
  bool WaitForError(std::chrono::milliseconds timeout) const;
  uint64_t foreign_received() const { return foreign_received_.load(); }

 private:
  void Run();
  void Step(const rdma::Completion& c);

  rdma::Channel* channel_;
  RamReceiver* receiver_;
  std::function<void(uint64_t, ReceiverState)> observer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> foreign_received_{0};
  std::atomic<uint64_t> seen_checkpoint_{0};
  std::atomic<ReceiverState> seen_state_{ReceiverState::kAwaitingSetup};
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> hold_from_{UINT64_MAX};
  mutable std::mutex mu_;
  std::set<uint64_t> discard_;
  std::vector<std::byte> foreign_;
  std::vector<CommitSummary> commits_;
  std::vector<uint64_t> discarded_;
  std::optional<Error> error_;
};

}  // namespace ftvm::ram::testing
