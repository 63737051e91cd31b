// The verbs objects of one connection: protection domain, completion channel, completion queue
// and RC queue pair (created on an rdma_cm id), and registered buffer pools.
//
// QueuePair and BufferPool own what they create (raii.h) and declare it in creation order, so
// destruction runs in the order verbs requires. A BufferPool and every MR must be destroyed
// before the QueuePair whose PD they use (declare the QueuePair first).
#pragma once

#include <cstdint>
#include <span>

#include "base/mapping.h"
#include "base/result.h"
#include "rdma/verbs/memlock.h"
#include "rdma/verbs/raii.h"

namespace ftvm::rdma::verbs {

struct QpConfig {
  uint32_t send_wr = 0;     // send queue depth (user + internal work requests)
  uint32_t recv_wr = 0;     // receive buffers
  uint32_t max_inline = 0;  // bytes a send may carry inline
};

class QueuePair {
 public:
  QueuePair() = default;
  // Creates PD, completion channel (non-blocking fd), CQ sized for both queues, and the QP on
  // `id` (which must have a device: after address resolution, or a connect request). Checks the
  // configuration against the device's limits (kInvalidArgument naming the limit).
  static Result<QueuePair> Create(rdma_cm_id* id, const QpConfig& config);

  ibv_pd* pd() const { return pd_.get(); }
  ibv_comp_channel* comp_channel() const { return comp_channel_.get(); }
  ibv_cq* cq() const { return cq_.get(); }
  ibv_qp* qp() const { return qp_->qp; }  // only on a created QueuePair
  uint32_t max_inline() const { return max_inline_; }

 private:
  PdPtr pd_;
  CompChannelPtr comp_channel_;
  CqPtr cq_;
  QpPtr qp_;
  uint32_t max_inline_ = 0;
};

// Registers `memory` with `access` (IBV_ACCESS_* flags) after checking the memlock account.
struct Registration {
  PinnedBytes pinned;  // released after the MR is deregistered
  MrPtr mr;
};
Result<Registration> RegisterPinned(ibv_pd* pd, std::span<std::byte> memory, int access);

// `count` equal slots of `slot_bytes` in one registered anonymous mapping.
class BufferPool {
 public:
  BufferPool() = default;
  static Result<BufferPool> Create(ibv_pd* pd, uint32_t count, uint32_t slot_bytes, int access);

  std::span<std::byte> slot(uint32_t index) const {
    return memory_.bytes().subspan(static_cast<size_t>(index) * slot_bytes_, slot_bytes_);
  }
  uint32_t lkey() const { return registration_.mr->lkey; }
  uint32_t count() const { return count_; }
  uint32_t slot_bytes() const { return slot_bytes_; }

 private:
  Mapping memory_;  // declared first: unmapped after the MR is gone
  Registration registration_;
  uint32_t count_ = 0;
  uint32_t slot_bytes_ = 0;
};

}  // namespace ftvm::rdma::verbs
