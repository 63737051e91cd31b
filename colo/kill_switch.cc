#include "colo/kill_switch.h"

namespace ftvm::colo {
namespace {

class KillSwitchChannel final : public rdma::Channel {
 public:
  KillSwitchChannel(std::unique_ptr<rdma::Channel> inner, KillPoint kill,
                    const uint64_t* checkpoint)
      : inner_(std::move(inner)), kill_(std::move(kill)), checkpoint_(checkpoint) {}

  const rdma::ChannelInfo& info() const override { return inner_->info(); }
  rdma::ChannelState state() const override { return inner_->state(); }
  std::optional<Error> error() const override { return inner_->error(); }
  Result<rdma::MemoryRegion> RegisterMemory(std::span<std::byte> memory, uint32_t access) override {
    return inner_->RegisterMemory(memory, access);
  }
  Result<void> DeregisterMemory(const rdma::MemoryRegion& region) override {
    return inner_->DeregisterMemory(region);
  }
  Result<void> PostWrites(std::span<const rdma::WriteRequest> writes) override {
    auto r = inner_->PostWrites(writes);
    if (r && !writes.empty()) MaybeKill(kill_, "ram", *checkpoint_);
    return r;
  }
  Result<void> PostSend(std::span<const std::byte> message, uint64_t wr_id,
                        bool signaled) override {
    return inner_->PostSend(message, wr_id, signaled);
  }
  Result<size_t> Poll(std::span<rdma::Completion> out, Nanos timeout) override {
    return inner_->Poll(out, timeout);
  }
  void Close() override { inner_->Close(); }
  void Shutdown() override { inner_->Shutdown(); }

 private:
  std::unique_ptr<rdma::Channel> inner_;
  const std::optional<KillPoint> kill_;
  const uint64_t* checkpoint_;
};

}  // namespace

std::unique_ptr<rdma::Channel> WrapWithKillSwitch(std::unique_ptr<rdma::Channel> channel,
                                                  const std::optional<KillPoint>& kill,
                                                  const uint64_t* checkpoint) {
  if (!kill || kill->point != "ram") return channel;
  return std::make_unique<KillSwitchChannel>(std::move(channel), *kill, checkpoint);
}

}  // namespace ftvm::colo
