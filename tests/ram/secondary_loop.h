// Stands in for colo/'s loop on the secondary in tests: polls the channel on its own thread,
// hands ram/ messages to a RamReceiver and, when a checkpoint is complete, commits it (or
// discards it when the test asked for that). Records what happened for the test to inspect.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
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
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> foreign_received_{0};
  mutable std::mutex mu_;
  std::set<uint64_t> discard_;
  std::vector<std::byte> foreign_;
  std::vector<CommitSummary> commits_;
  std::vector<uint64_t> discarded_;
  std::optional<Error> error_;
};

}  // namespace ftvm::ram::testing
