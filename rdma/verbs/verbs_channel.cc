// VerbsChannel: creation, memory registration and posting (verbs_channel.h). Completions are
// in verbs_completions.cc, the progress thread and shutdown in verbs_progress.cc.
#include "rdma/verbs/verbs_channel.h"

#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "rdma/verbs/trace_events.h"

namespace ftvm::rdma::verbs {

namespace {

constexpr uint32_t kAllAccess = kAccessLocalWrite | kAccessRemoteWrite | kAccessRemoteRead;

Result<int> VerbsAccess(uint32_t access) {
  if ((access & ~kAllAccess) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "unknown access bits {:#x}", access & ~kAllAccess);
  }
  if ((access & kAccessRemoteWrite) != 0 && (access & kAccessLocalWrite) == 0) {
    // Verbs requires local write access for remote write access (ibv_reg_mr: EINVAL).
    return Fail(ErrorCode::kInvalidArgument, "remote write access needs local write access");
  }
  int flags = 0;
  if ((access & kAccessLocalWrite) != 0) flags |= IBV_ACCESS_LOCAL_WRITE;
  if ((access & kAccessRemoteWrite) != 0) flags |= IBV_ACCESS_REMOTE_WRITE;
  if ((access & kAccessRemoteRead) != 0) flags |= IBV_ACCESS_REMOTE_READ;
  return flags;
}

}  // namespace

VerbsChannel::VerbsChannel(ChannelSetup setup)
    : events_(std::move(setup.events)),
      id_(std::move(setup.id)),
      qp_(std::move(setup.qp)),
      recv_(std::move(setup.recv_buffers)),
      options_(setup.options),
      peer_(setup.peer),
      max_inline_(qp_.max_inline()) {
  info_.provider = "verbs";
  info_.local_uri = std::move(setup.local_uri);
  info_.peer_uri = std::move(setup.peer_uri);
  info_.device = std::move(setup.device);
  info_.send_queue_depth = options_.send_queue_depth;
  info_.recv_credits = peer_.recv_credits;
  info_.max_message_bytes = std::min(options_.max_message_bytes, peer_.max_message_bytes);
  info_.streams = 1;
}

Result<std::unique_ptr<VerbsChannel>> VerbsChannel::Create(ChannelSetup setup) {
  std::unique_ptr<VerbsChannel> channel(new VerbsChannel(std::move(setup)));
  FTVM_TRY(channel->Start());
  return channel;
}

Result<void> VerbsChannel::Start() {
  const uint32_t send_buffers = std::min(peer_.recv_buffers, kMaxSendBuffers);
  FTVM_ASSIGN_OR_RETURN(send_, BufferPool::Create(qp_.pd(), send_buffers,
                                                  kMessageHeaderBytes + info_.max_message_bytes,
                                                  /*access=*/0));
  for (uint32_t i = send_buffers; i > 0; --i)
    free_send_slots_.push_back(static_cast<int32_t>(i - 1));
  credits_ = SendCredits(peer_.recv_buffers, peer_.recv_credits);
  const auto peer_timeout = std::chrono::milliseconds(peer_.peer_timeout_ms);
  keepalive_ns_ = static_cast<uint64_t>(
      Nanos(KeepaliveInterval(options_.keepalive_interval, peer_timeout)).count());
  peer_timeout_ns_ = static_cast<uint64_t>(Nanos(options_.peer_timeout).count());
  last_rx_ns_ = last_tx_ns_ = MonotonicNs();
  wake_fd_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) return SysFail("eventfd");
  if (!options_.busy_poll) {
    if (const int rc = ibv_req_notify_cq(qp_.cq(), 0); rc != 0) {
      return ErrnoFail(rc, "ibv_req_notify_cq");
    }
  }
  progress_ = std::thread([this] { ProgressLoop(); });
  return {};
}

ChannelState VerbsChannel::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::optional<Error> VerbsChannel::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

Result<MemoryRegion> VerbsChannel::RegisterMemory(std::span<std::byte> memory, uint32_t access) {
  if (memory.empty()) return Fail(ErrorCode::kInvalidArgument, "cannot register empty memory");
  FTVM_ASSIGN_OR_RETURN(const int flags, VerbsAccess(access));
  FTVM_ASSIGN_OR_RETURN(Registration registration, RegisterPinned(qp_.pd(), memory, flags));
  const MemoryRegion region{.addr = memory.data(),
                            .length = memory.size(),
                            .lkey = registration.mr->lkey,
                            .rkey = registration.mr->rkey,
                            .access = access};
  trace_rdma_verbs_register(reinterpret_cast<uint64_t>(memory.data()), memory.size(), region.lkey,
                            region.rkey);
  std::lock_guard lock(mu_);
  regions_.emplace(region.lkey, UserRegion{region, std::move(registration)});
  return region;
}

Result<void> VerbsChannel::DeregisterMemory(const MemoryRegion& region) {
  UserRegion victim;
  {
    std::lock_guard lock(mu_);
    const auto it = regions_.find(region.lkey);
    if (it == regions_.end() || it->second.region.addr != region.addr ||
        it->second.region.length != region.length) {
      return Fail(ErrorCode::kInvalidArgument,
                  "lkey {:#x} is not a registered region of this channel (deregistered twice?)",
                  region.lkey);
    }
    victim = std::move(it->second);
    regions_.erase(it);
  }
  // After ibv_dereg_mr returns, the device no longer reads or writes the memory.
  if (const int rc = ibv_dereg_mr(victim.registration.mr.release()); rc != 0) {
    return ErrnoFail(rc, "ibv_dereg_mr(lkey {:#x})", region.lkey);
  }
  return {};
}

Result<void> VerbsChannel::CheckPostableLocked(size_t requests) const {
  if (state_ != ChannelState::kConnected) {
    return Fail(ErrorCode::kFlushed, "channel not connected: {}",
                error_ ? error_->ToString() : "closed");
  }
  const uint64_t in_use = user_posted_ - user_freed_;
  if (in_use + requests > options_.send_queue_depth) {
    return Fail(ErrorCode::kResourceExhausted,
                "send queue full: {} of {} requests outstanding, {} more posted (poll first)",
                in_use, options_.send_queue_depth, requests);
  }
  return {};
}

Result<void> VerbsChannel::CheckWriteLocked(const WriteRequest& w) const {
  const auto it = regions_.find(w.lkey);
  if (it == regions_.end()) {
    return Fail(ErrorCode::kInvalidArgument, "write {}: unknown local key {:#x}", w.wr_id, w.lkey);
  }
  const MemoryRegion& r = it->second.region;
  const std::byte* end = r.addr + r.length;
  if (w.local_addr < r.addr || w.local_addr > end ||
      static_cast<uint64_t>(end - w.local_addr) < w.length) {
    return Fail(ErrorCode::kInvalidArgument,
                "write {}: local range of {} bytes outside its region (lkey {:#x})", w.wr_id,
                w.length, w.lkey);
  }
  return {};
}

Result<void> VerbsChannel::PostWrites(std::span<const WriteRequest> writes) {
  std::lock_guard lock(mu_);
  FTVM_TRY(CheckPostableLocked(writes.size()));
  for (const WriteRequest& w : writes) FTVM_TRY(CheckWriteLocked(w));
  const uint64_t first = user_posted_;
  user_posted_ += writes.size();
  if (!held_.empty()) {  // behind a waiting send: keep RC order
    for (size_t i = 0; i < writes.size(); ++i) {
      Held& h = held_.emplace_back();
      h.write = writes[i];
      h.ordinal = first + i;
    }
    return {};
  }
  return PostWriteChainLocked(writes, first);
}

Result<void> VerbsChannel::PostWriteChainLocked(std::span<const WriteRequest> writes,
                                                uint64_t first_ordinal) {
  const size_t n = writes.size();
  if (n == 0) return {};
  wr_scratch_.assign(n, ibv_send_wr{});
  sge_scratch_.assign(n, ibv_sge{});
  for (size_t i = 0; i < n; ++i) {
    const WriteRequest& w = writes[i];
    ibv_sge& sge = sge_scratch_[i];
    ibv_send_wr& wr = wr_scratch_[i];
    sge = {reinterpret_cast<uint64_t>(w.local_addr), w.length, w.lkey};
    wr.wr_id = next_seq_ + i;
    wr.next = i + 1 < n ? &wr_scratch_[i + 1] : nullptr;
    wr.sg_list = w.length > 0 ? &sge : nullptr;
    wr.num_sge = w.length > 0 ? 1 : 0;
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.send_flags = (w.signaled ? IBV_SEND_SIGNALED : 0) |
                    (w.length > 0 && w.length <= max_inline_ ? IBV_SEND_INLINE : 0);
    wr.wr.rdma.remote_addr = w.remote_addr;
    wr.wr.rdma.rkey = w.rkey;
  }
  ibv_send_wr* bad = nullptr;
  const int rc = ibv_post_send(qp_.qp(), wr_scratch_.data(), &bad);
  const size_t posted = rc == 0 ? n : static_cast<size_t>(bad - wr_scratch_.data());
  for (size_t i = 0; i < posted; ++i) {
    ring_.push_back(SendEntry{.seq = next_seq_++,
                              .kind = WrKind::kWrite,
                              .user_signaled = writes[i].signaled,
                              .wr_id = writes[i].wr_id,
                              .ordinal = first_ordinal + i});
  }
  trace_rdma_verbs_post_writes(first_ordinal, static_cast<uint32_t>(posted));
  if (rc != 0) {
    // Should not happen: the queue is sized for every request we admit.
    FailLocked(Error(ErrorCode::kInternal, "ibv_post_send(RDMA WRITE)", rc), ChannelState::kError);
    return ErrnoFail(rc, "ibv_post_send(RDMA WRITE)");
  }
  return {};
}

bool VerbsChannel::CanPostMessageLocked(bool internal, size_t payload_bytes) const {
  if (internal ? !credits_.CanSendInternal() || internal_outstanding_ >= kInternalSendSlots
               : !credits_.CanSendUser()) {
    return false;
  }
  return kMessageHeaderBytes + payload_bytes <= max_inline_ || !free_send_slots_.empty();
}

Result<void> VerbsChannel::PostMessageLocked(MessageKind kind, std::span<const std::byte> payload,
                                             uint64_t wr_id, bool user_signaled, uint64_t ordinal) {
  std::array<std::byte, kMessageHeaderBytes> header;
  EncodeMessageHeader(MessageHeader{.kind = kind, .reposted = reposted_}, header);
  const size_t total = kMessageHeaderBytes + payload.size();
  std::array<ibv_sge, 2> sge{};
  ibv_send_wr wr{};
  int32_t slot = -1;
  if (total <= max_inline_) {  // copied into the work request at post time
    sge[0] = {reinterpret_cast<uint64_t>(header.data()), kMessageHeaderBytes, 0};
    sge[1] = {reinterpret_cast<uint64_t>(payload.data()), static_cast<uint32_t>(payload.size()), 0};
    wr.num_sge = payload.empty() ? 1 : 2;
    wr.send_flags = IBV_SEND_INLINE;
  } else {
    slot = free_send_slots_.back();
    free_send_slots_.pop_back();
    const std::span<std::byte> buffer = send_.slot(static_cast<uint32_t>(slot));
    std::memcpy(buffer.data(), header.data(), kMessageHeaderBytes);
    if (!payload.empty()) {
      std::memcpy(buffer.data() + kMessageHeaderBytes, payload.data(), payload.size());
    }
    sge[0] = {reinterpret_cast<uint64_t>(buffer.data()), static_cast<uint32_t>(total),
              send_.lkey()};
    wr.num_sge = 1;
  }
  wr.wr_id = next_seq_;
  wr.sg_list = sge.data();
  wr.opcode = IBV_WR_SEND;
  wr.send_flags |= IBV_SEND_SIGNALED;  // always: its completion recycles buffer and credit
  ibv_send_wr* bad = nullptr;
  if (const int rc = ibv_post_send(qp_.qp(), &wr, &bad); rc != 0) {
    if (slot >= 0) free_send_slots_.push_back(slot);
    FailLocked(Error(ErrorCode::kInternal, "ibv_post_send(SEND)", rc), ChannelState::kError);
    return ErrnoFail(rc, "ibv_post_send(SEND)");
  }
  const bool internal = kind != MessageKind::kUser;
  ring_.push_back(SendEntry{.seq = next_seq_++,
                            .kind = internal ? WrKind::kInternal : WrKind::kSend,
                            .user_signaled = user_signaled,
                            .message = kind,
                            .send_slot = slot,
                            .wr_id = wr_id,
                            .ordinal = ordinal});
  if (internal) ++internal_outstanding_;
  credits_.OnSent();
  owed_user_ = 0;  // the header announced every re-posted buffer
  last_tx_ns_ = MonotonicNs();
  trace_rdma_verbs_post_send(static_cast<uint8_t>(kind), static_cast<uint32_t>(payload.size()),
                             reposted_);
  return {};
}

Result<void> VerbsChannel::PostSend(std::span<const std::byte> message, uint64_t wr_id,
                                    bool signaled) {
  std::lock_guard lock(mu_);
  FTVM_TRY(CheckPostableLocked(1));
  if (message.size() > info_.max_message_bytes) {
    return Fail(ErrorCode::kInvalidArgument, "message of {} bytes exceeds the maximum of {}",
                message.size(), info_.max_message_bytes);
  }
  const uint64_t ordinal = user_posted_++;
  if (held_.empty() && CanPostMessageLocked(false, message.size())) {
    return PostMessageLocked(MessageKind::kUser, message, wr_id, signaled, ordinal);
  }
  Held& h = held_.emplace_back();
  h.is_send = true;
  h.message.assign(message.begin(), message.end());
  h.wr_id = wr_id;
  h.signaled = signaled;
  h.ordinal = ordinal;
  return {};
}

bool VerbsChannel::SendInternalLocked(MessageKind kind) {
  if (state_ != ChannelState::kConnected || !CanPostMessageLocked(true, 0)) return false;
  return PostMessageLocked(kind, {}, 0, false, 0).has_value();
}

void VerbsChannel::PostHeldLocked() {
  while (state_ == ChannelState::kConnected && !held_.empty()) {
    Held& h = held_.front();
    Result<void> posted;
    if (h.is_send) {
      if (!CanPostMessageLocked(false, h.message.size())) return;
      posted = PostMessageLocked(MessageKind::kUser, h.message, h.wr_id, h.signaled, h.ordinal);
    } else {
      posted = PostWriteChainLocked({&h.write, 1}, h.ordinal);
    }
    if (!posted) return;  // the channel failed; FinishFlushLocked reports what is held
    held_.pop_front();
  }
}

void VerbsChannel::RepostLocked(uint32_t slot, bool user) {
  const std::span<std::byte> buffer = recv_.slot(slot);
  ibv_sge sge{reinterpret_cast<uint64_t>(buffer.data()), static_cast<uint32_t>(buffer.size()),
              recv_.lkey()};
  ibv_recv_wr wr{};
  wr.wr_id = kRecvTag | slot;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  ibv_recv_wr* bad = nullptr;
  if (const int rc = ibv_post_recv(qp_.qp(), &wr, &bad); rc != 0) {
    FailLocked(Error(ErrorCode::kInternal, "ibv_post_recv", rc), ChannelState::kError);
    return;
  }
  ++reposted_;
  if (user) ++owed_user_;
}

}  // namespace ftvm::rdma::verbs
