#include "vmm/uring.h"

#include <cstring>

namespace ftvm::vmm {

Result<Uring> Uring::Create(unsigned depth) {
  Uring u(depth);
  if (const int err = ::io_uring_queue_init(depth, &u.ring_, 0); err < 0) {
    return ErrnoFail(-err, "io_uring_queue_init({})", depth);
  }
  u.live_ = true;
  for (unsigned i = 0; i < depth; ++i) u.free_.push_back(i);
  return u;
}

Uring::Uring(Uring&& other) noexcept
    : ring_(other.ring_),
      live_(std::exchange(other.live_, false)),
      depth_(other.depth_),
      ops_(std::move(other.ops_)),
      free_(std::move(other.free_)),
      in_flight_(other.in_flight_) {}

Uring::~Uring() {
  if (!live_) return;
  (void)Drain();  // the kernel may still be writing into our buffers
  ::io_uring_queue_exit(&ring_);
}

Result<void> Uring::Write(int fd, std::span<const std::byte> bytes, uint64_t offset) {
  return Queue({const_cast<std::byte*>(bytes.data()), bytes.size(), offset, fd, true});
}

Result<void> Uring::Read(int fd, std::span<std::byte> bytes, uint64_t offset) {
  return Queue({bytes.data(), bytes.size(), offset, fd, false});
}

Result<void> Uring::Queue(const Op& op) {
  if (op.length == 0) return {};
  while (free_.empty()) FTVM_TRY(Reap(/*wait=*/true));
  const unsigned slot = free_.back();
  free_.pop_back();
  ops_[slot] = op;
  return Prepare(slot);
}

Result<void> Uring::Prepare(unsigned slot) {
  io_uring_sqe* sqe = ::io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    if (const int err = ::io_uring_submit(&ring_); err < 0)
      return ErrnoFail(-err, "io_uring_submit");
    sqe = ::io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return Fail(ErrorCode::kInternal, "io_uring: no free submission entry");
  }
  const Op& op = ops_[slot];
  const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(op.length, 1u << 30));
  if (op.write) {
    ::io_uring_prep_write(sqe, op.fd, op.data, chunk, op.offset);
    // Buffered writes would otherwise copy inline, in io_uring_submit() on this thread; queued
    // to io_uring's workers, the copy overlaps whatever this thread does next (the snapshot
    // writer hashes the next run meanwhile).
    sqe->flags |= IOSQE_ASYNC;
  } else {
    ::io_uring_prep_read(sqe, op.fd, op.data, chunk, op.offset);
  }
  ::io_uring_sqe_set_data64(sqe, slot);
  ++in_flight_;
  if (::io_uring_sq_ready(&ring_) >= depth_ / 2) {
    if (const int err = ::io_uring_submit(&ring_); err < 0)
      return ErrnoFail(-err, "io_uring_submit");
  }
  return {};
}

Result<void> Uring::Reap(bool wait) {
  if (const int err = ::io_uring_submit(&ring_); err < 0) return ErrnoFail(-err, "io_uring_submit");
  io_uring_cqe* cqe = nullptr;
  const int err = wait ? ::io_uring_wait_cqe(&ring_, &cqe) : ::io_uring_peek_cqe(&ring_, &cqe);
  if (err == -EAGAIN && !wait) return {};
  if (err < 0) return ErrnoFail(-err, "io_uring_wait_cqe");
  const auto slot = static_cast<unsigned>(::io_uring_cqe_get_data64(cqe));
  const int res = cqe->res;
  ::io_uring_cqe_seen(&ring_, cqe);
  --in_flight_;
  Op& op = ops_[slot];
  if (res < 0) {
    free_.push_back(slot);
    return ErrnoFail(-res, "io_uring {} of {} bytes at offset {}", op.write ? "write" : "read",
                     op.length, op.offset);
  }
  if (res == 0) {
    free_.push_back(slot);
    return Fail(ErrorCode::kCorrupt, "io_uring read at offset {}: end of file", op.offset);
  }
  const auto done = static_cast<uint64_t>(res);
  if (done < op.length) {  // a short transfer: continue where it stopped
    op.data += done;
    op.length -= done;
    op.offset += done;
    return Prepare(slot);
  }
  free_.push_back(slot);
  return {};
}

Result<void> Uring::Drain() {
  Result<void> first_error;
  while (in_flight_ > 0) {
    auto r = Reap(/*wait=*/true);
    if (!r && first_error) first_error = std::move(r);
  }
  return first_error;
}

}  // namespace ftvm::vmm
