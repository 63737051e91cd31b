// A tiny in-process Channel pair for ram/ unit tests (the real providers live in rdma/).
//
// Writes are validated (lkey/local range, rkey/bounds/remote-write access) and copied into the
// peer's memory at post time; messages go straight into the peer's completion queue. Signaled
// work requests complete at once. Either end may be driven by its own thread (one lock for
// both). Fault injection: FailAfterWrites(n) makes the (n+1)-th write fail as if the peer was
// lost; Break() moves both ends to the error state.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "rdma/channel.h"

namespace ftvm::ram::testing {

class LoopbackChannel : public rdma::Channel {
 public:
  static std::pair<std::unique_ptr<LoopbackChannel>, std::unique_ptr<LoopbackChannel>> CreatePair(
      uint32_t max_message_bytes = 64 * 1024);
  ~LoopbackChannel() override;

  const rdma::ChannelInfo& info() const override { return info_; }
  rdma::ChannelState state() const override;
  std::optional<Error> error() const override;
  Result<rdma::MemoryRegion> RegisterMemory(std::span<std::byte> memory, uint32_t access) override;
  Result<void> DeregisterMemory(const rdma::MemoryRegion& region) override;
  Result<void> PostWrites(std::span<const rdma::WriteRequest> writes) override;
  Result<void> PostSend(std::span<const std::byte> message, uint64_t wr_id, bool signaled) override;
  Result<size_t> Poll(std::span<rdma::Completion> out, Nanos timeout) override;
  void Close() override;
  void Shutdown() override;

  void FailAfterWrites(uint64_t writes);
  void Break(ErrorCode code);
  size_t registered_regions() const;

 private:
  struct Shared;
  LoopbackChannel(std::shared_ptr<Shared> shared, int side);
  bool CheckLocal(const rdma::WriteRequest& w) const;
  std::byte* RemoteTarget(const rdma::WriteRequest& w) const;
  void BreakLocked(ErrorCode code, std::string why);

  std::shared_ptr<Shared> shared_;
  int side_;
  rdma::ChannelInfo info_;
};

}  // namespace ftvm::ram::testing
