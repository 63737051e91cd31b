#include "tests/ram/secondary_loop.h"

#include "ram/wire.h"
#include "ram/write_queue.h"

namespace ftvm::ram::testing {

SecondaryLoop::SecondaryLoop(rdma::Channel* channel, RamReceiver* receiver)
    : channel_(channel), receiver_(receiver) {}

SecondaryLoop::~SecondaryLoop() { Stop(); }

void SecondaryLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SecondaryLoop::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SecondaryLoop::DiscardCheckpoint(uint64_t id) {
  std::lock_guard lock(mu_);
  discard_.insert(id);
}

void SecondaryLoop::SendForeignOnBegin(std::vector<std::byte> message) {
  std::lock_guard lock(mu_);
  foreign_ = std::move(message);
}

void SecondaryLoop::HoldFrom(uint64_t id) { hold_from_ = id; }

std::vector<CommitSummary> SecondaryLoop::commits() const {
  std::lock_guard lock(mu_);
  return commits_;
}

std::vector<uint64_t> SecondaryLoop::discarded() const {
  std::lock_guard lock(mu_);
  return discarded_;
}

std::optional<Error> SecondaryLoop::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

bool SecondaryLoop::WaitForError(std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!error().has_value()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void SecondaryLoop::Run() {
  std::vector<rdma::Completion> completions(16);
  while (!stop_) {
    auto n = channel_->Poll(completions, std::chrono::milliseconds(5));
    if (!n) {
      std::lock_guard lock(mu_);
      if (!error_) error_ = n.error();
      // colo/ would fail over here; whatever was not complete is never applied.
      receiver_->Discard();
      return;
    }
    for (size_t i = 0; i < *n; ++i) Step(completions[i]);
  }
}

void SecondaryLoop::Step(const rdma::Completion& c) {
  if (c.opcode != rdma::Opcode::kRecv) {
    if (IsRamWorkRequest(c.wr_id)) (void)receiver_->HandleCompletion(c);
    return;
  }
  if (!IsRamMessage(c.message)) {
    ++foreign_received_;
    return;
  }
  const ReceiverState before = receiver_->state();
  if (auto handled = receiver_->HandleMessage(c.message); !handled) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = handled.error();
    return;
  }
  seen_checkpoint_ = receiver_->checkpoint_id();
  seen_state_ = receiver_->state();
  if (observer_) observer_(receiver_->checkpoint_id(), receiver_->state());
  std::lock_guard lock(mu_);
  if (before == ReceiverState::kIdle && receiver_->state() == ReceiverState::kReceiving &&
      !foreign_.empty()) {
    (void)channel_->PostSend(foreign_, 0, false);
  }
  if (!receiver_->CheckpointReceived()) return;
  const uint64_t id = receiver_->checkpoint_id();
  if (id >= hold_from_) return;
  if (discard_.count(id) != 0) {
    receiver_->Discard();
    discarded_.push_back(id);
    return;
  }
  auto committed = receiver_->Commit({});
  if (committed) {
    commits_.push_back(*committed);
    committed_ = committed->id;
    seen_state_ = receiver_->state();
  } else if (!error_) {
    error_ = committed.error();
  }
}

}  // namespace ftvm::ram::testing
