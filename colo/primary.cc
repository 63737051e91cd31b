#include "colo/primary.h"

#include <thread>

#include "base/strings.h"
#include "colo/kill_switch.h"
#include "colo/log.h"
#include "colo/trace_events.h"
#include "rdma/uri.h"

namespace ftvm::colo {
namespace {

constexpr Nanos kPollSlice = std::chrono::milliseconds(5);

void OrInto(vmm::DirtyBitmaps& into, const vmm::DirtyBitmaps& from) {
  if (into.size() < from.size()) into.resize(from.size());
  for (size_t b = 0; b < from.size(); ++b) {
    if (into[b].size() < from[b].size()) into[b].resize(from[b].size(), 0);
    for (size_t w = 0; w < from[b].size(); ++w) into[b][w] |= from[b][w];
  }
}

void ClearBits(vmm::DirtyBitmaps& bitmaps) {
  for (auto& b : bitmaps) std::fill(b.begin(), b.end(), 0);
}

}  // namespace

Primary::Primary(PrimaryOptions options)
    : options_(std::move(options)), control_(Role::kPrimary, options_.parameters) {}

Primary::~Primary() = default;

Result<std::unique_ptr<Primary>> Primary::Create(PrimaryOptions options) {
  FTVM_TRY_CTX(rdma::ParseUri(options.peer_uri), "--peer");
  std::unique_ptr<Primary> p(new Primary(std::move(options)));
  FTVM_ASSIGN_OR_RETURN(p->machine_, vmm::Machine::Create(p->options_.machine));
  p->control_.set_guest(*p->machine_);
  if (p->options_.staging) {
    FTVM_ASSIGN_OR_RETURN(auto staging, Staging::Create(p->machine_->ram_blocks()));
    p->staging_.emplace(std::move(staging));
  }
  return p;
}

std::vector<ram::RamBlock> Primary::RamViews() const {
  if (staging_) return staging_->Views();
  std::vector<ram::RamBlock> views;
  for (const vmm::RamBlock& b : machine_->ram_blocks()) {
    views.push_back({b.name(), b.bytes(), b.gpa(), static_cast<uint32_t>(b.page_size())});
  }
  return views;
}

Result<void> Primary::Start() {
  FTVM_TRY_CTX(machine_->StartDirtyLog(), "start dirty logging");
  FTVM_TRY(ResumeGuest());
  Log().info("primary: guest '{}' running with {} of RAM (dirty log: {})", options_.machine.guest,
             FormatBytes(options_.machine.ram_bytes), vmm::DirtyModeName(machine_->dirty_mode()));
  return {};
}

Result<void> Primary::ResumeGuest() {
  // A guest that exited (possibly just before the pause of the checkpoint that caught it)
  // has nothing left to run: stay paused; the engine ends on the exit.
  if (machine_->control().status().exited) return {};
  FTVM_TRY_CTX(machine_->Resume(VcpuTimeout(options_)), "resume guest");
  control_.set_guest_running(true);
  control_.Emit({.kind = EngineEventKind::kResume});
  return {};
}

Result<void> Primary::Setup() {
  auto channel_options = options_.channel;
  channel_options.peer_timeout =
      std::chrono::milliseconds(control_.parameters().heartbeat_timeout_ms);
  const Deadline window(options_.connect_window);
  Result<std::unique_ptr<rdma::Channel>> channel =
      rdma::Connect(options_.peer_uri, channel_options);
  while (!channel && channel.error().code() == ErrorCode::kPeerLost && !window.expired() &&
         !control_.quit_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the secondary is starting
    channel = rdma::Connect(options_.peer_uri, channel_options);
  }
  if (!channel) return Fail(std::move(channel.error()));
  auto wrapped = WrapWithKillSwitch(std::move(*channel), options_.kill_at, &checkpoint_);
  link_ = std::make_unique<PeerLink>(std::move(wrapped),
                                     std::chrono::milliseconds(options_.heartbeat_interval_ms));
  Log().info("primary: connected to {} over {}", options_.peer_uri,
             link_->channel().info().provider);

  Hello hello;
  hello.guest = options_.machine.guest;
  hello.guest_args = options_.machine.guest_args;
  hello.vcpus = options_.machine.vcpus;
  hello.ram_bytes = options_.machine.ram_bytes;
  hello.ring_bytes = options_.machine.ring_bytes;
  hello.registration = static_cast<uint8_t>(options_.ram.mode);
  hello.passive = options_.passive ? 1 : 0;
  hello.heartbeat_ms = options_.heartbeat_interval_ms;
  FTVM_TRY(link_->Send(hello));
  FTVM_ASSIGN_OR_RETURN(const HelloAck ack, Await<HelloAck>(0, "hello-ack"));
  if (ack.accepted == 0) {
    return Fail(ErrorCode::kProtocol, "the secondary refused the setup: {}", ack.reason);
  }

  ram::SenderOptions ram_options = options_.ram;
  ram_options.max_pinned_bytes = control_.parameters().pinned_budget_bytes;
  ram_options.on_foreign = [this](rdma::Completion&& c) { link_->Route(std::move(c)); };
  FTVM_ASSIGN_OR_RETURN(
      sender_, ram::RamSender::Start(&link_->channel(), RamViews(), std::move(ram_options)));
  link_->set_ram_handlers({
      .message = [this](std::span<const std::byte> m) { return sender_->HandleMessage(m); },
      .completion = [this](const rdma::Completion& c) { return sender_->HandleCompletion(c); },
  });
  PublishReplication();
  return {};
}

Result<void> Primary::HarvestInto(vmm::DirtyBitmaps& accumulated) {
  const uint64_t t0 = MonotonicNs();
  FTVM_TRY_CTX(machine_->HarvestDirty(harvest_), "harvest dirty log");
  const uint64_t pages = vmm::CountDirtyPages(harvest_);
  OrInto(accumulated, harvest_);
  control_.stats().RecordDirtySync(pages, t0 - std::exchange(last_harvest_ns_, t0));
  return {};
}

Result<void> Primary::HarvestPending() {
  FTVM_TRY(HarvestInto(pending_dirty_));
  if (staging_) OrInto(uncaptured_, harvest_);
  return {};
}

uint64_t Primary::CaptureUncaptured() {
  const uint64_t bytes = staging_->Capture(uncaptured_);
  ClearBits(uncaptured_);
  return bytes;
}

// While the guest runs: harvest (which re-arms tracking), then copy what was harvested into the
// mirror. A page the guest writes during or after the copy is dirty again and is copied again
// later, at the latest inside the pause, so the mirror holds every page as it was at the pause.
Result<void> Primary::Precapture() {
  FTVM_TRY(Local(HarvestPending()));
  const uint64_t t = MonotonicNs();
  const uint64_t bytes = CaptureUncaptured();
  trace_colo_src_precapture(checkpoint_ + 1, MonotonicNs() - t, bytes / vmm::kPageSize);
  return {};
}

Result<void> Primary::InitialSync() {
  const Stopwatch sync;
  const uint64_t sync_start = MonotonicNs();
  // Round 1 sends every page; the dirty log (already on) collects what changes meanwhile.
  vmm::DirtyBitmaps all(machine_->ram_blocks().size());
  for (size_t b = 0; b < all.size(); ++b) {
    const uint64_t pages = machine_->ram_blocks()[b].page_count();
    all[b].assign(vmm::BitmapWords(pages), ~uint64_t{0});
    if (pages % 64 != 0) all[b].back() = (uint64_t{1} << (pages % 64)) - 1;
  }
  last_harvest_ns_ = MonotonicNs();
  vmm::DirtyBitmaps round = std::move(all);
  for (uint32_t r = 1;; ++r) {
    const Stopwatch round_time;
    FTVM_ASSIGN_OR_RETURN(const ram::RoundSummary s, SendSyncRound(r, round, sync_start));
    const double secs = static_cast<double>(round_time.ElapsedNs()) / 1e9;
    Log().info("initial sync round {}: {} pages ({} sent, {} zero), {}, {:.0f} MB/s", r,
               s.dirty_pages, s.pages_written, s.zero_pages,
               FormatBytes(s.pages_written * vmm::kPageSize),
               secs > 0 ? static_cast<double>(s.pages_written * vmm::kPageSize) / secs / 1e6 : 0);
    ClearBits(round);
    FTVM_TRY(HarvestInto(round));
    const uint64_t left = vmm::CountDirtyPages(round);
    FTVM_TRY(link_->MaybeHeartbeat(0));
    FTVM_TRY(link_->Poll(Nanos(0)));
    if (left <= options_.sync_converged_pages || r >= options_.max_sync_rounds ||
        control_.quit_requested()) {
      Log().info("initial sync: {} rounds in {} ms, {} pages left for checkpoint 1", r,
                 sync.ElapsedNs() / 1'000'000, left);
      if (options_.sync_progress) {
        options_.sync_progress({.round = r,
                                .round_pages = s.dirty_pages,
                                .round_pages_done = s.dirty_pages,
                                .bytes_sent = sync_bytes_,
                                .ram_bytes = options_.machine.ram_bytes,
                                .elapsed_ns = sync.ElapsedNs(),
                                .done = true});
      }
      break;
    }
  }
  pending_dirty_ = std::move(round);
  uncaptured_ = pending_dirty_;  // checkpoint 1 copies what the last round left
  return {};
}

Result<void> Primary::Run() {
  start_ns_ = MonotonicNs();
  FTVM_TRY(Start());
  auto protected_run = [&]() -> Result<void> {
    FTVM_TRY_CTX(Setup(), "setup");
    FTVM_TRY(control_.Apply(Event::kSetupDone));
    FTVM_TRY_CTX(InitialSync(), "initial sync");
    last_end_ns_ = MonotonicNs();
    FTVM_TRY_CTX(Checkpoint(1), "checkpoint 1");
    FTVM_TRY(control_.Apply(Event::kColoEntered));
    control_.stats().SetInitTime(MonotonicNs() - start_ns_);
    Log().info("primary: COLO mode after {} ms", (MonotonicNs() - start_ns_) / 1'000'000);
    return CheckpointLoop();
  };
  auto r = protected_run();
  if (fatal_) {
    // No goodbye: the guest is lost here, the secondary must take over. Abort the link so it
    // sees a lost peer, not the orderly close the channel's destructor would send.
    if (link_) link_->Shutdown();
    (void)control_.Apply(Event::kFatal);
    Log().error("primary: fatal: {}", fatal_->ToString());
    return Fail(*fatal_);
  }
  if (control_.quit_requested() && r) return Quit();
  if (!r) LoseSecondary(r.error(), control_.state().status == Status::kFailover);
  return RunAlone();
}

Result<void> Primary::CheckpointLoop() {
  for (uint64_t n = 2;; ++n) {
    FTVM_ASSIGN_OR_RETURN(const bool go, WaitForTrigger());
    if (!go) return {};
    FTVM_TRY_CTX(Checkpoint(n), fmt::format("checkpoint {}", n));
  }
}

// Waits until the next checkpoint is due. False: stop checkpointing (quit or failover); the
// caller looks at the state to tell which.
Result<bool> Primary::WaitForTrigger() {
  MaybeKill(options_.kill_at, "wait", checkpoint_ + 1);
  uint64_t next_threshold_check = 0;
  uint64_t next_precapture = MonotonicNs() + options_.precapture_ms * 1'000'000;
  for (;;) {
    if (control_.quit_requested()) return false;
    if (control_.state().status == Status::kFailover) {
      return Fail(ErrorCode::kAborted, "failover requested by the operator");
    }
    if (machine_->control().status().exited) {
      Log().info("primary: the guest exited with code {}", machine_->control().status().exit_code);
      control_.RequestQuit();
      return false;
    }
    const Parameters params = control_.parameters();
    const uint64_t now = MonotonicNs();
    if (control_.TakeCheckpointRequest()) return true;
    const uint64_t due = last_end_ns_ + params.checkpoint_delay_ms * 1'000'000;
    if (now >= due) return true;
    if (params.dirty_threshold_pages > 0 && now >= next_threshold_check) {
      FTVM_TRY(Local(HarvestPending()));
      if (vmm::CountDirtyPages(pending_dirty_) >= params.dirty_threshold_pages) return true;
      next_threshold_check = now + 10'000'000;  // every 10 ms
    }
    if (staging_ && options_.precapture_ms > 0 && now >= next_precapture) {
      FTVM_TRY(Precapture());
      // At most a fifth of this thread's time: a guest rewriting more than we can copy in an
      // interval gets fewer precaptures, not a copying loop.
      const uint64_t end = MonotonicNs();
      next_precapture =
          end + std::max<uint64_t>(options_.precapture_ms * 1'000'000, 4 * (end - now));
    }
    FTVM_TRY(link_->MaybeHeartbeat(checkpoint_));
    // Wake up for the period (a 10 ms period must not become 15), else every poll slice.
    Nanos slice = std::min<Nanos>(kPollSlice, Nanos(due - now));
    if (staging_ && options_.precapture_ms > 0) {
      slice = std::min<Nanos>(slice, Nanos(next_precapture > now ? next_precapture - now : 0));
    }
    FTVM_TRY(link_->Poll(slice));
    while (link_->has_message()) {
      auto m = link_->PopMessage();
      if (auto* bye = std::get_if<Goodbye>(&m.message)) {
        return Fail(ErrorCode::kPeerLost, "the secondary left: {}", bye->reason);
      }
      return Fail(ErrorCode::kProtocol, "unexpected {} between checkpoints",
                  MessageName(m.message));
    }
    // Judged right after a poll: a long checkpoint or harvest on this side must not count
    // against a secondary whose heartbeats were waiting in the queue meanwhile.
    if (link_->PeerSilentNs() > params.heartbeat_timeout_ms * 1'000'000) {
      return Fail(ErrorCode::kPeerLost, "no word from the secondary for {} ms",
                  link_->PeerSilentNs() / 1'000'000);
    }
  }
}

void Primary::LoseSecondary(const Error& why, bool requested) {
  Log().warn("primary: {}: continuing without the secondary ({})",
             requested ? "failover requested" : "secondary lost", why.ToString());
  if (!requested) {
    (void)control_.Apply(Event::kPeerLost);
    control_.Emit({.kind = EngineEventKind::kPeerLost, .text = why.ToString()});
  }
  const ColoState s = control_.state();
  const ColoMode mode_before = s.mode;
  if (s.status == Status::kFailover) {
    (void)control_.Apply(Event::kFailoverStarted);
  }
  if (link_ && !requested) link_->Shutdown();
  if (machine_->paused()) {
    if (auto r = ResumeGuest(); !r) fatal_ = r.error();
  }
  if (link_ && requested) {
    // The secondary is alive: tell it the guest runs on here, so it stops instead of taking
    // over a second copy of the guest.
    link_->SayGoodbye("operator failover: the primary runs on alone", GoodbyeTimeout());
  }
  if (control_.state().failover == FailoverState::kActive) {
    (void)control_.Apply(Event::kFailoverDone);
    control_.Emit({.kind = EngineEventKind::kFailover,
                   .mode = mode_before,
                   .reason = control_.state().reason});
  }
  control_.Emit({.kind = EngineEventKind::kDegraded, .text = why.ToString()});
}

Result<void> Primary::RunAlone() {
  if (fatal_) return Fail(*fatal_);
  Log().warn("primary: running alone (degraded): the guest is not protected");
  FTVM_TRY(RunUntilQuit(*machine_, control_));
  return Quit();
}

Result<void> Primary::Quit() {
  if (link_) link_->SayGoodbye("primary quit", GoodbyeTimeout());
  (void)control_.Apply(Event::kQuit);
  if (!machine_->paused()) (void)machine_->Pause();
  control_.set_guest_running(false);
  control_.Emit({.kind = EngineEventKind::kStop});
  Log().info("primary: stopped after {} checkpoints", control_.last_checkpoint());
  return {};
}

void Primary::PublishReplication() {
  if (!sender_) return;
  const ram::RamStats& s = sender_->stats();
  control_.set_replication({
      .transport = link_->channel().info().provider,
      .registration = ram::RegistrationModeName(options_.ram.mode),
      .pinned_bytes = s.pinned_bytes,
      .registrations = s.registrations,
      .unregistrations = s.unregistrations,
      .zero_chunks = s.zero_ranges,
      .writes_in_flight = s.peak_writes_in_flight,
  });
}

}  // namespace ftvm::colo
