// Creation of a connection's verbs objects (queue_pair.h).
#include "rdma/verbs/queue_pair.h"

#include <cerrno>

#include "base/io.h"

namespace ftvm::rdma::verbs {

namespace {

Result<void> CheckLimits(ibv_context* context, const QpConfig& config) {
  ibv_device_attr attr{};
  if (const int rc = ibv_query_device(context, &attr); rc != 0) {
    return ErrnoFail(rc, "ibv_query_device");
  }
  const auto max_wr = static_cast<uint32_t>(attr.max_qp_wr);
  if (config.send_wr > max_wr || config.recv_wr > max_wr) {
    return Fail(ErrorCode::kInvalidArgument,
                "queue depths (send {}, receive {}) exceed the device's max_qp_wr {}",
                config.send_wr, config.recv_wr, max_wr);
  }
  if (config.send_wr + config.recv_wr > static_cast<uint32_t>(attr.max_cqe)) {
    return Fail(ErrorCode::kInvalidArgument,
                "completion queue of {} exceeds the device's max_cqe {}",
                config.send_wr + config.recv_wr, attr.max_cqe);
  }
  return {};
}

}  // namespace

Result<QueuePair> QueuePair::Create(rdma_cm_id* id, const QpConfig& config) {
  if (id->verbs == nullptr) return Fail(ErrorCode::kInternal, "cm id has no device yet");
  FTVM_TRY(CheckLimits(id->verbs, config));
  QueuePair q;
  q.pd_.reset(ibv_alloc_pd(id->verbs));
  if (!q.pd_) return SysFail("ibv_alloc_pd");
  q.comp_channel_.reset(ibv_create_comp_channel(id->verbs));
  if (!q.comp_channel_) return SysFail("ibv_create_comp_channel");
  FTVM_TRY_CTX(SetNonBlocking(q.comp_channel_->fd, true), "completion channel");
  const int cqe = static_cast<int>(config.send_wr + config.recv_wr);
  q.cq_.reset(ibv_create_cq(id->verbs, cqe, nullptr, q.comp_channel_.get(), 0));
  if (!q.cq_) return SysFail("ibv_create_cq({} entries)", cqe);

  ibv_qp_init_attr attr{};
  attr.send_cq = q.cq_.get();
  attr.recv_cq = q.cq_.get();
  attr.qp_type = IBV_QPT_RC;
  attr.sq_sig_all = 0;  // selective signalling
  attr.cap.max_send_wr = config.send_wr;
  attr.cap.max_recv_wr = config.recv_wr;
  attr.cap.max_send_sge = 2;  // message header + payload
  attr.cap.max_recv_sge = 1;
  attr.cap.max_inline_data = config.max_inline;
  if (rdma_create_qp(id, q.pd_.get(), &attr) != 0) {
    return SysFail("rdma_create_qp(send {}, receive {}, inline {})", config.send_wr, config.recv_wr,
                   config.max_inline);
  }
  q.qp_.reset(id);
  q.max_inline_ = attr.cap.max_inline_data;  // what the device granted
  return q;
}

Result<Registration> RegisterPinned(ibv_pd* pd, std::span<std::byte> memory, int access) {
  Registration r;
  FTVM_ASSIGN_OR_RETURN(r.pinned, PinnedBytes::Reserve(memory));
  r.mr.reset(ibv_reg_mr(pd, memory.data(), memory.size(), access));
  if (!r.mr) {
    const int err = errno;
    const MemlockLimit limit = CurrentMemlockLimit();
    if ((err == ENOMEM || err == EPERM || err == EAGAIN) && !limit.unlimited) {
      // The kernel's own account (other pinned memory of this process) ran out.
      Error e = MemlockError(memory.size(), PinnedBytes::InUse() - r.pinned.bytes(), limit.bytes);
      return Fail(std::move(e).Wrap("ibv_reg_mr failed with ENOMEM"));
    }
    return ErrnoFail(err, "ibv_reg_mr({} bytes)", memory.size());
  }
  return r;
}

Result<BufferPool> BufferPool::Create(ibv_pd* pd, uint32_t count, uint32_t slot_bytes, int access) {
  BufferPool pool;
  FTVM_ASSIGN_OR_RETURN(pool.memory_, Mapping::Anonymous(static_cast<size_t>(count) * slot_bytes));
  FTVM_ASSIGN_OR_RETURN(pool.registration_, RegisterPinned(pd, pool.memory_.bytes(), access));
  pool.count_ = count;
  pool.slot_bytes_ = slot_bytes;
  return pool;
}

}  // namespace ftvm::rdma::verbs
