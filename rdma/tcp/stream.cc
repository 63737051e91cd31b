#include "rdma/tcp/stream.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "base/io.h"
#include "rdma/log.h"
#include "rdma/trace_events.h"

namespace ftvm::rdma::tcp {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr size_t kIovMax = IOV_MAX;
// A sender batch stops growing at this many frames or bytes, so pins are released and
// acknowledgements go out regularly even under a flood of posts.
constexpr size_t kMaxBatchFrames = 256;
constexpr uint64_t kMaxBatchBytes = 8u << 20;

// How often each thread re-checks liveness while blocked on the socket.
nanoseconds CheckPeriod(milliseconds peer_timeout) {
  return std::clamp<nanoseconds>(peer_timeout / 10, milliseconds(1), milliseconds(100));
}

bool PeerGone(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN; }

Result<void> SetTimeout(int fd, int option, nanoseconds period) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(period).count();
  timeval tv{.tv_sec = us / 1'000'000, .tv_usec = us % 1'000'000};
  if (::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv)) < 0) {
    return SysFail("setsockopt {}", option == SO_RCVTIMEO ? "SO_RCVTIMEO" : "SO_SNDTIMEO");
  }
  return {};
}

// Frames up to this size may be written inline by the posting thread.
constexpr uint64_t kInlineMaxBytes = 16 << 10;

uint64_t FrameBytes(const OutFrame& f) {
  uint64_t n = f.header.size() + f.body.size();
  for (const iovec& v : f.payload) n += v.iov_len;
  return n - f.sent;
}

// Appends the frame's iovecs, minus the `sent` bytes already written.
void AppendFrame(OutFrame& f, std::vector<iovec>* iov) {
  size_t skip = f.sent;
  const auto add = [&](void* base, size_t len) {
    if (skip >= len) {
      skip -= len;
      return;
    }
    iov->push_back(iovec{static_cast<std::byte*>(base) + skip, len - skip});
    skip = 0;
  };
  add(f.header.data(), f.header.size());
  if (!f.body.empty()) add(f.body.data(), f.body.size());
  for (const iovec& v : f.payload) add(v.iov_base, v.iov_len);
}

// The socket as a FrameReader byte source, with the liveness check.
class SocketSource final : public ByteSource {
 public:
  SocketSource(int fd, uint32_t index, nanoseconds silence_limit, std::atomic<uint64_t>* last_rx,
               const std::atomic<bool>* stopping)
      : fd_(fd),
        index_(index),
        silence_limit_(silence_limit),
        last_rx_(last_rx),
        stopping_(stopping) {}

  Result<size_t> ReadSome(std::span<const iovec> iov) override {
    const int count = static_cast<int>(std::min(iov.size(), kIovMax));
    for (;;) {
      const ssize_t n = ::readv(fd_, iov.data(), count);
      if (n > 0) {
        last_rx_->store(MonotonicNs(), std::memory_order_relaxed);
        return static_cast<size_t>(n);
      }
      if (stopping_->load(std::memory_order_relaxed)) {
        return Fail(ErrorCode::kAborted, "stream {} stopped", index_);
      }
      if (n == 0) return Fail(ErrorCode::kPeerLost, "stream {}: connection closed by peer", index_);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // SO_RCVTIMEO: is the peer still alive?
        const uint64_t silent = MonotonicNs() - last_rx_->load(std::memory_order_relaxed);
        if (silent > static_cast<uint64_t>(silence_limit_.count())) {
          trace_rdma_peer_silent(index_, silent / 1'000'000);
          return Fail(ErrorCode::kPeerLost, "stream {}: no sign of life from the peer for {} ms",
                      index_, silent / 1'000'000);
        }
        continue;
      }
      if (PeerGone(errno)) {
        return std::unexpected<Error>(std::in_place, ErrorCode::kPeerLost,
                                      fmt::format("stream {}: connection reset", index_), errno);
      }
      return SysFail("stream {}: read", index_);
    }
  }

 private:
  int fd_;
  uint32_t index_;
  nanoseconds silence_limit_;
  std::atomic<uint64_t>* last_rx_;
  const std::atomic<bool>* stopping_;
};

// Consecutive sends in one batch become runs: the first frame of a run announces the bytes of
// the send frames after it, so the receiver reads them all with one readv instead of one per
// message. A frame already partly written (inline) cannot be marked any more.
void MarkSendRuns(std::vector<OutFrame>& batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].is_send || batch[i].sent != 0) continue;
    uint64_t run = 0;
    size_t j = i + 1;
    for (; j < batch.size() && batch[j].is_send; ++j) {
      const uint64_t bytes = kFrameHeaderBytes + batch[j].body.size();
      if (run + bytes > kMaxSendRunBytes) break;
      run += bytes;
    }
    if (run > 0) MarkSendRun(&batch[i].header, run);
    i = j - 1;
  }
}

}  // namespace

Stream::Stream(UniqueFd fd, const StreamConfig& config, RegionTable* regions, FrameHandler* handler,
               StreamHost* host)
    : fd_(std::move(fd)),
      config_(config),
      regions_(regions),
      handler_(handler),
      host_(host),
      silence_limit_(config.peer_timeout - CheckPeriod(config.peer_timeout)) {}

Stream::~Stream() {
  Abort();
  Join();
}

Result<void> Stream::Start() {
  FTVM_TRY(SetNonBlocking(fd_.get(), false));
  const nanoseconds period = CheckPeriod(config_.peer_timeout);
  FTVM_TRY(SetTimeout(fd_.get(), SO_RCVTIMEO, period));
  FTVM_TRY(SetTimeout(fd_.get(), SO_SNDTIMEO, period));
  last_rx_ns_.store(MonotonicNs());
  last_tx_ns_.store(MonotonicNs());
  sender_ = std::thread([this] { SenderLoop(); });
  receiver_ = std::thread([this] { ReceiverLoop(); });
  return {};
}

Stream::SendResult Stream::Send(OutFrame frame, bool inline_ok) {
  {
    std::lock_guard lock(mu_);
    if (finishing_ || sender_done_) return SendResult::kDropped;  // already flushed
    if (!inline_ok || writing_ || !queue_.empty() || FrameBytes(frame) > kInlineMaxBytes) {
      queue_.push_back(std::move(frame));
      if (queue_.size() == 1) cv_.notify_one();
      return SendResult::kQueued;
    }
    writing_ = true;
  }
  std::vector<iovec> iov;
  AppendFrame(frame, &iov);
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  // Never blocks; an error is left for the sender thread to meet on its next write.
  const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  std::lock_guard lock(mu_);
  writing_ = false;
  if (n > 0) last_tx_ns_.store(MonotonicNs(), std::memory_order_relaxed);
  if (n >= 0 && static_cast<uint64_t>(n) == FrameBytes(frame)) {
    if (!queue_.empty() || ack_requested_ || finishing_) cv_.notify_one();
    return SendResult::kSent;
  }
  if (sender_done_) return SendResult::kDropped;  // the stream died meanwhile: nobody would send it
  frame.sent += n > 0 ? static_cast<size_t>(n) : 0;
  queue_.push_front(std::move(frame));  // the rest goes first: the queue was empty anyway
  cv_.notify_one();
  return SendResult::kQueued;
}

void Stream::EndWrite() {
  std::lock_guard lock(mu_);
  writing_ = false;
}

void Stream::RequestAck() {
  std::lock_guard lock(mu_);
  if (!ack_requested_) {
    ack_requested_ = true;
    cv_.notify_one();
  }
}

void Stream::Finish(std::vector<std::byte> goodbye) {
  std::deque<OutFrame> dropped;
  std::lock_guard lock(mu_);
  dropped.swap(queue_);
  if (!finishing_) goodbye_ = std::move(goodbye);
  finishing_ = true;
  cv_.notify_one();
}

bool Stream::WaitFinished(Deadline deadline) {
  if (!sender_.joinable()) return true;  // never started
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, deadline.remaining(), [&] { return sender_done_; });
}

void Stream::Abort() {
  stopping_.store(true);
  ::shutdown(fd_.get(), SHUT_RDWR);  // wakes a thread blocked in the socket; fd stays open
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

void Stream::Join() {
  if (sender_.joinable()) sender_.join();
  if (receiver_.joinable()) receiver_.join();
}

bool Stream::NextBatch(std::vector<OutFrame>* batch, bool* ack, bool* finish) {
  std::unique_lock lock(mu_);
  const auto interval = nanoseconds(config_.keepalive_interval);
  const auto idle = nanoseconds(MonotonicNs() - last_tx_ns_.load(std::memory_order_relaxed));
  cv_.wait_for(lock, idle < interval ? interval - idle : nanoseconds(0), [&] {
    return stopping_.load() || (!writing_ && (finishing_ || ack_requested_ || !queue_.empty()));
  });
  if (stopping_.load()) return false;
  if (writing_) {  // woke on the keepalive timeout while an inline write runs: nothing to do
    *ack = *finish = false;
    return true;
  }
  uint64_t bytes = 0;
  while (!queue_.empty() && batch->size() < kMaxBatchFrames && bytes < kMaxBatchBytes) {
    bytes += FrameBytes(queue_.front());
    batch->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  *ack = ack_requested_ || (batch->empty() && MonotonicNs() - last_tx_ns_.load() >=
                                                  static_cast<uint64_t>(interval.count()));
  ack_requested_ = false;
  *finish = finishing_ && queue_.empty();
  writing_ = !batch->empty() || *ack || *finish;
  return true;
}

void Stream::SenderLoop() {
  std::vector<OutFrame> batch;
  Result<void> result;
  for (;;) {
    bool ack = false;
    bool finish = false;
    if (!NextBatch(&batch, &ack, &finish)) break;
    if (!batch.empty() || ack) {
      if (ack && batch.empty()) trace_rdma_keepalive(config_.index);
      result = Transmit(batch, ack);
      const size_t frames = batch.size();
      batch.clear();  // unpins the source regions
      if (!finish) EndWrite();
      if (!result) break;
      if (frames > 0) host_->OnTransmitted(config_.index, frames);
    }
    if (finish) {
      iov_.assign(1, iovec{goodbye_.data(), goodbye_.size()});
      if (!goodbye_.empty()) result = SendAll(iov_);
      ::shutdown(fd_.get(), SHUT_WR);
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    sender_done_ = true;
    queue_.clear();
    done_cv_.notify_all();
  }
  if (!result) host_->OnStreamFailed(config_.index, std::move(result).error());
}

Result<void> Stream::Transmit(std::vector<OutFrame>& batch, bool ack) {
  iov_.clear();
  if (ack) {
    const FrameHeader h = host_->MakeAck();
    trace_rdma_tcp_ack(h.seq, h.aux);
    ack_header_ = EncodeFrameHeader(h);
    iov_.push_back(iovec{ack_header_.data(), ack_header_.size()});
  }
  MarkSendRuns(batch);
  uint64_t bytes = 0;
  for (OutFrame& f : batch) {
    AppendFrame(f, &iov_);
    bytes += FrameBytes(f);
  }
  trace_rdma_tcp_tx_batch(config_.index, static_cast<uint32_t>(batch.size()), bytes);
  return SendAll(iov_);
}

Result<void> Stream::SendAll(std::vector<iovec>& iov) {
  size_t at = 0;
  uint64_t progress_ns = MonotonicNs();
  while (at < iov.size()) {
    msghdr msg{};
    msg.msg_iov = &iov[at];
    msg.msg_iovlen = std::min(iov.size() - at, kIovMax);
    const ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);  // never SIGPIPE
    if (n >= 0) {
      progress_ns = MonotonicNs();
      last_tx_ns_.store(progress_ns, std::memory_order_relaxed);
      ConsumeIovecs(iov, &at, static_cast<size_t>(n));
      continue;
    }
    if (stopping_.load()) return Fail(ErrorCode::kAborted, "stream {} stopped", config_.index);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {  // SO_SNDTIMEO: is the peer still reading?
      const uint64_t stalled = MonotonicNs() - progress_ns;
      if (stalled > static_cast<uint64_t>(silence_limit_.count())) {
        return Fail(ErrorCode::kPeerLost, "stream {}: the peer read nothing for {} ms",
                    config_.index, stalled / 1'000'000);
      }
      continue;
    }
    if (PeerGone(errno)) {
      return std::unexpected<Error>(
          std::in_place, ErrorCode::kPeerLost,
          fmt::format("stream {}: connection lost while sending", config_.index), errno);
    }
    return SysFail("stream {}: send", config_.index);
  }
  return {};
}

void Stream::ReceiverLoop() {
  SocketSource source(fd_.get(), config_.index, silence_limit_, &last_rx_ns_, &stopping_);
  FrameReader reader(&source, regions_, handler_, config_.limits, config_.index);
  for (;;) {
    auto type = reader.ReadFrame();
    if (!type) {
      host_->OnStreamFailed(config_.index, std::move(type).error());
      return;
    }
    if (*type == FrameType::kClose || *type == FrameType::kNak) return;
  }
}

}  // namespace ftvm::rdma::tcp
