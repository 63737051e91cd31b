#include "tests/ram/loopback_channel.h"

#include <cstring>

namespace ftvm::ram::testing {

struct LoopbackChannel::Shared {
  struct End {
    std::map<uint32_t, rdma::MemoryRegion> regions;  // by key (lkey == rkey here)
    std::deque<rdma::Completion> cq;
    rdma::ChannelState state = rdma::ChannelState::kConnected;
    std::optional<Error> error;
  };
  mutable std::mutex mu;
  std::condition_variable cv;
  End ends[2];
  uint32_t next_key = 1;
  uint64_t writes_left = UINT64_MAX;
};

std::pair<std::unique_ptr<LoopbackChannel>, std::unique_ptr<LoopbackChannel>>
LoopbackChannel::CreatePair(uint32_t max_message_bytes) {
  auto shared = std::make_shared<Shared>();
  std::unique_ptr<LoopbackChannel> a(new LoopbackChannel(shared, 0));
  std::unique_ptr<LoopbackChannel> b(new LoopbackChannel(shared, 1));
  a->info_.max_message_bytes = b->info_.max_message_bytes = max_message_bytes;
  return {std::move(a), std::move(b)};
}

LoopbackChannel::LoopbackChannel(std::shared_ptr<Shared> shared, int side)
    : shared_(std::move(shared)), side_(side) {
  info_.provider = "loopback";
  info_.send_queue_depth = 1024;
  info_.recv_credits = 64;
}

LoopbackChannel::~LoopbackChannel() { Close(); }

rdma::ChannelState LoopbackChannel::state() const {
  std::lock_guard lock(shared_->mu);
  return shared_->ends[side_].state;
}

std::optional<Error> LoopbackChannel::error() const {
  std::lock_guard lock(shared_->mu);
  return shared_->ends[side_].error;
}

size_t LoopbackChannel::registered_regions() const {
  std::lock_guard lock(shared_->mu);
  return shared_->ends[side_].regions.size();
}

Result<rdma::MemoryRegion> LoopbackChannel::RegisterMemory(std::span<std::byte> memory,
                                                           uint32_t access) {
  std::lock_guard lock(shared_->mu);
  rdma::MemoryRegion region{memory.data(), memory.size(), shared_->next_key, shared_->next_key,
                            access};
  ++shared_->next_key;
  shared_->ends[side_].regions[region.lkey] = region;
  return region;
}

Result<void> LoopbackChannel::DeregisterMemory(const rdma::MemoryRegion& region) {
  std::lock_guard lock(shared_->mu);
  shared_->ends[side_].regions.erase(region.lkey);
  return {};
}

bool LoopbackChannel::CheckLocal(const rdma::WriteRequest& w) const {
  const auto& regions = shared_->ends[side_].regions;
  auto it = regions.find(w.lkey);
  return it != regions.end() && w.local_addr >= it->second.addr &&
         w.local_addr + w.length <= it->second.addr + it->second.length;
}

std::byte* LoopbackChannel::RemoteTarget(const rdma::WriteRequest& w) const {
  const auto& regions = shared_->ends[1 - side_].regions;
  auto it = regions.find(w.rkey);
  if (it == regions.end() || (it->second.access & rdma::kAccessRemoteWrite) == 0) return nullptr;
  const uint64_t base = it->second.remote_addr();
  if (w.remote_addr < base || w.remote_addr + w.length > base + it->second.length) return nullptr;
  return it->second.addr + (w.remote_addr - base);
}

void LoopbackChannel::BreakLocked(ErrorCode code, std::string why) {
  for (auto& end : shared_->ends) {
    if (end.state != rdma::ChannelState::kConnected) continue;
    end.state = rdma::ChannelState::kError;
    end.error = Error(code, why);
  }
  shared_->cv.notify_all();
}

Result<void> LoopbackChannel::PostWrites(std::span<const rdma::WriteRequest> writes) {
  std::lock_guard lock(shared_->mu);
  auto& me = shared_->ends[side_];
  if (me.state != rdma::ChannelState::kConnected) {
    return Fail(ErrorCode::kFlushed, "loopback channel is not connected");
  }
  for (const rdma::WriteRequest& w : writes) {
    if (!CheckLocal(w)) return Fail(ErrorCode::kInvalidArgument, "bad lkey {}", w.lkey);
  }
  for (const rdma::WriteRequest& w : writes) {
    rdma::Completion c{w.wr_id, rdma::Opcode::kWrite, rdma::CompletionStatus::kSuccess, {}};
    std::byte* target = RemoteTarget(w);
    if (me.state != rdma::ChannelState::kConnected) {
      c.status = rdma::CompletionStatus::kFlushed;
    } else if (shared_->writes_left == 0) {
      c.status = rdma::CompletionStatus::kPeerLost;
      BreakLocked(ErrorCode::kPeerLost, "injected peer loss");
    } else if (target == nullptr) {
      c.status = rdma::CompletionStatus::kRemoteAccessError;
      BreakLocked(ErrorCode::kRemoteAccess, "remote access error");
    } else {
      --shared_->writes_left;
      std::memcpy(target, w.local_addr, w.length);
    }
    if (w.signaled || c.status != rdma::CompletionStatus::kSuccess) me.cq.push_back(std::move(c));
  }
  shared_->cv.notify_all();
  return {};
}

Result<void> LoopbackChannel::PostSend(std::span<const std::byte> message, uint64_t wr_id,
                                       bool signaled) {
  std::lock_guard lock(shared_->mu);
  auto& me = shared_->ends[side_];
  if (me.state != rdma::ChannelState::kConnected) {
    return Fail(ErrorCode::kFlushed, "loopback channel is not connected");
  }
  if (message.size() > info_.max_message_bytes) {
    return Fail(ErrorCode::kInvalidArgument, "message of {} bytes", message.size());
  }
  rdma::Completion recv{0, rdma::Opcode::kRecv, rdma::CompletionStatus::kSuccess,
                        std::vector<std::byte>(message.begin(), message.end())};
  shared_->ends[1 - side_].cq.push_back(std::move(recv));
  if (signaled) me.cq.push_back({wr_id, rdma::Opcode::kSend, rdma::CompletionStatus::kSuccess, {}});
  shared_->cv.notify_all();
  return {};
}

Result<size_t> LoopbackChannel::Poll(std::span<rdma::Completion> out, Nanos timeout) {
  std::unique_lock lock(shared_->mu);
  auto& me = shared_->ends[side_];
  auto ready = [&] { return !me.cq.empty() || me.state != rdma::ChannelState::kConnected; };
  if (timeout.count() < 0) {
    shared_->cv.wait(lock, ready);
  } else {
    shared_->cv.wait_for(lock, timeout, ready);
  }
  size_t n = 0;
  while (n < out.size() && !me.cq.empty()) {
    out[n++] = std::move(me.cq.front());
    me.cq.pop_front();
  }
  if (n == 0 && me.state != rdma::ChannelState::kConnected) {
    if (me.error) return Fail(Error(*me.error));
    return Fail(ErrorCode::kClosed, "loopback channel closed");
  }
  return n;
}

void LoopbackChannel::Close() {
  std::lock_guard lock(shared_->mu);
  auto& me = shared_->ends[side_];
  auto& peer = shared_->ends[1 - side_];
  me.state = rdma::ChannelState::kClosed;
  if (peer.state == rdma::ChannelState::kConnected) {
    peer.state = rdma::ChannelState::kError;
    peer.error = Error(ErrorCode::kClosed, "peer closed the connection");
  }
  shared_->cv.notify_all();
}

void LoopbackChannel::Shutdown() { Close(); }

void LoopbackChannel::FailAfterWrites(uint64_t writes) {
  std::lock_guard lock(shared_->mu);
  shared_->writes_left = writes;
}

void LoopbackChannel::Break(ErrorCode code) {
  std::lock_guard lock(shared_->mu);
  BreakLocked(code, "injected failure");
}

}  // namespace ftvm::ram::testing
