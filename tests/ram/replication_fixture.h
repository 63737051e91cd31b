// A primary and a secondary over a channel pair, for replication tests: guest memory on both
// sides, a RamSender on the test thread and a RamReceiver driven by a SecondaryLoop thread.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "ram/receiver.h"
#include "ram/sender.h"
#include "rdma/channel.h"
#include "tests/ram/secondary_loop.h"
#include "tests/ram/test_util.h"

namespace ftvm::ram::testing {

class ReplicationPair {
 public:
  // Takes both ends of a connected channel; blocks as in `specs` on both sides, the primary's
  // filled with random data, the secondary's with different random data.
  ReplicationPair(std::unique_ptr<rdma::Channel> primary, std::unique_ptr<rdma::Channel> secondary,
                  std::span<const BlockSpec> specs, ReceiverOptions receiver_options = {});
  ~ReplicationPair();

  Result<void> StartSender(SenderOptions options);

  // Dirties pages of the primary per `pattern`, replicates them as checkpoint `id` and waits for
  // the ack. Returns the ack status.
  Result<AckStatus> Round(uint64_t id, const DirtyPattern& pattern);
  // Like Round without waiting for the ack: the dirty bitmaps used are left in last_dirty().
  Result<CheckpointSummary> Send(uint64_t id, const DirtyPattern& pattern);

  // Dirties pages of the primary per `pattern` (the guest running) and returns their bitmaps.
  std::vector<Bitmap> Dirty(const DirtyPattern& pattern) { return script_.Run(pattern); }
  // Bitmaps with every page of every block set.
  std::vector<Bitmap> AllPages() const;

  bool Mirrored() const;  // secondary guest == primary memory, every block
  std::vector<std::vector<std::byte>> SnapshotSecondary() const;
  bool SecondaryEquals(const std::vector<std::vector<std::byte>>& snapshot) const;

  rdma::Channel* primary_channel() { return primary_channel_.get(); }
  rdma::Channel* secondary_channel() { return secondary_channel_.get(); }
  RamSender& sender() { return *sender_; }
  RamReceiver& receiver() { return *receiver_; }
  SecondaryLoop& loop() { return *loop_; }
  std::vector<TestBlock>& primary() { return script_.blocks(); }
  std::vector<std::vector<std::byte>> SnapshotPrimary();
  // Stops the secondary's loop (joins its thread): receiver() is then safe to inspect.
  void StopLoop() { loop_->Stop(); }

 private:
  std::unique_ptr<rdma::Channel> primary_channel_;
  std::unique_ptr<rdma::Channel> secondary_channel_;
  PrimaryScript script_;
  std::vector<TestBlock> secondary_;
  std::unique_ptr<RamReceiver> receiver_;
  std::unique_ptr<SecondaryLoop> loop_;
  std::unique_ptr<RamSender> sender_;
};

}  // namespace ftvm::ram::testing
