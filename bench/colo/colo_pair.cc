#include "bench/colo/colo_pair.h"

#include <cstring>

#include "base/time.h"
#include "vmm/guests/abi.h"

namespace ftvm::colo::bench {
namespace {

constexpr auto kSetupTimeout = std::chrono::seconds(600);
constexpr auto kStepTimeout = std::chrono::seconds(300);
constexpr uint64_t kHeartbeatTimeoutMs = 30'000;  // a loaded 2-core host stalls threads

CommonOptions Common() {
  CommonOptions c;
  c.parameters.checkpoint_delay_ms = kCheckpointDelayMsRange.max;  // checkpoint-now only
  c.parameters.heartbeat_timeout_ms = kHeartbeatTimeoutMs;
  c.checkpoint_timeout_ms = 120'000;
  c.channel.peer_timeout = std::chrono::milliseconds(kHeartbeatTimeoutMs);
  return c;
}

}  // namespace

const char* OrderName(Order order) {
  switch (order) {
    case Order::kStaged:
      return "staged";
    case Order::kStagedPre:
      return "staged+pre";
    case Order::kDirect:
      return "direct";
    case Order::kDirectLoaded:
      return "direct+loaded";
  }
  return "?";
}

Result<std::unique_ptr<EnginePair>> EnginePair::Start(const PairConfig& config) {
  std::unique_ptr<EnginePair> pair(new EnginePair());
  SecondaryOptions so;
  static_cast<CommonOptions&>(so) = Common();
  so.listen_uri = config.uri;
  so.accept_timeout = std::chrono::seconds(60);
  so.serial.to_log = false;
  FTVM_ASSIGN_OR_RETURN(pair->secondary_, Secondary::Create(std::move(so)));

  PrimaryOptions po;
  static_cast<CommonOptions&>(po) = Common();
  po.peer_uri = pair->secondary_->listen_uri();
  po.machine.ram_bytes = config.ram_bytes;
  po.machine.guest = "dirtier";
  po.machine.guest_args = config.guest_args.empty()
                              ? fmt::format("round_pages={} stamp=0", kRoundPages)
                              : config.guest_args;
  po.machine.serial.to_log = false;
  po.passive = config.passive;
  po.staging = config.order == Order::kStaged || config.order == Order::kStagedPre;
  po.resume_after_received = config.order != Order::kDirectLoaded;
  po.ram.verify = config.verify;
  po.precapture_ms = config.order == Order::kStagedPre ? config.precapture_ms : 0;
  FTVM_ASSIGN_OR_RETURN(pair->primary_, Primary::Create(std::move(po)));
  if (config.fill) {
    // Every page the guest may use holds data (not zero) before the engine starts.
    const auto ram = pair->primary_->machine().ram_blocks()[0].bytes().subspan(FTVM_DATA_GPA);
    std::memset(ram.data(), 0xa5, ram.size());
  }
  pair->primary_->control().set_event_callback(
      [p = pair.get()](const EngineEvent& e) { p->OnEvent(e); });

  pair->secondary_thread_ = std::thread([p = pair.get()] {
    auto r = p->secondary_->Run();
    std::lock_guard lock(p->mu_);
    if (!r) p->secondary_error_ = r.error();
    p->secondary_done_ = true;
    p->cv_.notify_all();
  });
  pair->primary_thread_ = std::thread([p = pair.get()] {
    auto r = p->primary_->Run();
    std::lock_guard lock(p->mu_);
    if (!r) p->primary_error_ = r.error();
    p->primary_done_ = true;
    p->cv_.notify_all();
  });
  pair->released_rounds_ = 1;  // the dirtier does its first round before looking at `go`
  FTVM_TRY(pair->WaitForColo());
  return pair;
}

EnginePair::~EnginePair() { (void)Stop(); }

void EnginePair::OnEvent(const EngineEvent& e) {
  if (e.kind != EngineEventKind::kCheckpoint) return;
  std::lock_guard lock(mu_);
  seen_.push_back({.n = e.checkpoint,
                   .at_ns = MonotonicNs(),
                   .downtime_ns = e.downtime_ns,
                   .ram_bytes = e.ram_bytes});
  cv_.notify_all();
}

Result<void> EnginePair::EngineFailed() const {
  if (primary_error_) return Fail(Error(*primary_error_).Wrap("primary"));
  if (secondary_error_) return Fail(Error(*secondary_error_).Wrap("secondary"));
  if (primary_done_ || secondary_done_) {
    return Fail(ErrorCode::kAborted, "an engine stopped ({} stopped)",
                primary_done_ ? "primary" : "secondary");
  }
  return {};
}

Result<void> EnginePair::WaitForColo() {
  const uint64_t start = MonotonicNs();
  const Deadline deadline(kSetupTimeout);
  uint64_t sync_start = 0;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      FTVM_TRY(EngineFailed());
    }
    const Status status = primary_->control().state().status;
    const uint64_t now = MonotonicNs();
    if (status != Status::kSetup && sync_start == 0) sync_start = now;
    if (status == Status::kColo) {
      setup_ns_ = sync_start - start;
      sync_ns_ = now - sync_start;
      return {};
    }
    if (status != Status::kSetup && status != Status::kSync) {
      return Fail(ErrorCode::kInternal, "the primary went to status {} before COLO mode",
                  Name(status));
    }
    if (deadline.expired()) return Fail(ErrorCode::kTimeout, "no COLO mode within the setup time");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Result<void> EnginePair::Release(uint64_t pages) {
  released_rounds_ += pages / kRoundPages;
  return vmm::SetMailboxGo(primary_->machine(), released_rounds_ - 1);
}

Result<void> EnginePair::ReleaseAhead(uint64_t pages) {
  const uint64_t done = primary_->machine().control().status().last_work_done;
  released_rounds_ = std::max(released_rounds_, done + pages / kRoundPages);
  return vmm::SetMailboxGo(primary_->machine(), released_rounds_ - 1);
}

Result<void> EnginePair::Dirty(uint64_t pages) {
  if (pages % kRoundPages != 0) {
    return Fail(ErrorCode::kInvalidArgument, "{} pages is not a multiple of {}", pages,
                kRoundPages);
  }
  FTVM_TRY(Release(pages));
  const uint64_t want = released_rounds_;
  const bool done = primary_->machine().control().WaitUntil(
      [&](const vmm::ControlStatus& s) { return s.last_work_done >= want || s.aborted; },
      Deadline(kStepTimeout));
  if (!done || primary_->machine().control().status().aborted) {
    return Fail(ErrorCode::kTimeout, "the guest did not finish round {}", want);
  }
  return {};
}

Result<CheckpointSeen> EnginePair::Checkpoint() {
  size_t before = 0;
  {
    std::lock_guard lock(mu_);
    before = seen_.size();
  }
  FTVM_TRY(primary_->control().RequestCheckpoint());
  std::unique_lock lock(mu_);
  const bool done = cv_.wait_for(lock, kStepTimeout, [&] {
    return seen_.size() > before || primary_done_ || secondary_done_;
  });
  FTVM_TRY(EngineFailed());
  if (!done) return Fail(ErrorCode::kTimeout, "checkpoint-now was not committed in time");
  return seen_.back();
}

std::vector<CheckpointSeen> EnginePair::CheckpointsSince(size_t since) const {
  std::lock_guard lock(mu_);
  if (since >= seen_.size()) return {};
  return {seen_.begin() + static_cast<ptrdiff_t>(since), seen_.end()};
}

uint64_t EnginePair::guest_pages_written() const {
  const auto* status =
      reinterpret_cast<const ftvm_status*>(primary_->machine().AbiPage(FTVM_STATUS_GPA).data());
  return status->pages_written;
}

size_t EnginePair::checkpoint_count() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

Result<void> EnginePair::Stop() {
  if (stopped_) return {};
  stopped_ = true;
  primary_->control().RequestQuit();
  secondary_->control().RequestQuit();
  if (primary_thread_.joinable()) primary_thread_.join();
  if (secondary_thread_.joinable()) secondary_thread_.join();
  std::lock_guard lock(mu_);
  if (primary_error_) return Fail(Error(*primary_error_).Wrap("primary"));
  if (secondary_error_) return Fail(Error(*secondary_error_).Wrap("secondary"));
  return {};
}

}  // namespace ftvm::colo::bench
