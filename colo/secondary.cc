#include "colo/secondary.h"

#include "base/strings.h"
#include "colo/log.h"
#include "colo/trace_events.h"
#include "rdma/uri.h"

namespace ftvm::colo {
namespace {

constexpr Nanos kPollSlice = std::chrono::milliseconds(5);
constexpr uint64_t kMaxGuestRam = uint64_t{1} << 40;

}  // namespace

Secondary::Secondary(SecondaryOptions options)
    : options_(std::move(options)), control_(Role::kSecondary, options_.parameters) {}

Secondary::~Secondary() = default;

Result<std::unique_ptr<Secondary>> Secondary::Create(SecondaryOptions options) {
  std::unique_ptr<Secondary> s(new Secondary(std::move(options)));
  auto channel_options = s->options_.channel;
  channel_options.peer_timeout =
      std::chrono::milliseconds(s->options_.parameters.heartbeat_timeout_ms);
  FTVM_ASSIGN_OR_RETURN(s->listener_, rdma::Listen(s->options_.listen_uri, channel_options));
  s->listen_uri_ = s->listener_->uri();
  Log().info("secondary: listening on {}", s->listen_uri_);
  return s;
}

Result<void> Secondary::Run() {
  start_ns_ = MonotonicNs();
  FTVM_TRY_CTX(Accept(), "accept the primary");
  auto r = Serve();
  if (fatal_) {
    (void)control_.Apply(Event::kFatal);
    if (link_) link_->SayGoodbye("secondary failed: " + fatal_->ToString(), GoodbyeTimeout());
    Log().error("secondary: fatal: {}", fatal_->ToString());
    return Fail(*fatal_);
  }
  if (r) return Quit();  // an operator asked us to quit
  if (primary_goodbye_) {
    // The primary is alive and said goodbye (it quit, its guest exited, or an operator failed
    // it over): its guest runs there or was stopped on purpose. Taking over would start a
    // second copy of the guest, or resurrect a stopped one. (A channel closed without a
    // goodbye, e.g. by the destructor of a primary that failed, is a lost primary.)
    Log().warn("secondary: the primary ended replication ({}): stopping without taking over",
               *primary_goodbye_);
    return Quit();
  }
  return Failover(r.error(), control_.state().status == Status::kFailover);
}

Result<void> Secondary::Accept() {
  FTVM_ASSIGN_OR_RETURN(auto channel, listener_->Accept(options_.accept_timeout));
  link_ = std::make_unique<PeerLink>(std::move(channel),
                                     std::chrono::milliseconds(options_.heartbeat_interval_ms));
  listener_.reset();  // one primary per secondary
  Log().info("secondary: primary connected from {} over {}", link_->channel().info().peer_uri,
             link_->channel().info().provider);
  const Deadline deadline(std::chrono::milliseconds(options_.checkpoint_timeout_ms));
  while (!link_->has_message()) {
    if (deadline.expired()) return Fail(ErrorCode::kTimeout, "no hello from the primary");
    FTVM_TRY(link_->Poll(kPollSlice));
  }
  auto m = link_->PopMessage();
  const auto* hello = std::get_if<Hello>(&m.message);
  if (hello == nullptr) {
    return Fail(ErrorCode::kProtocol, "expected hello, got {}", MessageName(m.message));
  }
  if (auto r = Setup(*hello); !r) {
    (void)link_->Send(HelloAck{0, r.error().ToString()});
    link_->Close();
    fatal_ = r.error();
    return r;
  }
  FTVM_TRY(link_->Send(HelloAck{1, ""}));
  return control_.Apply(Event::kSetupDone);
}

Result<void> Secondary::Setup(const Hello& hello) {
  if (hello.protocol_version != kColoProtocolVersion) {
    return Fail(ErrorCode::kProtocol, "primary speaks colo protocol {}, this secondary {}",
                hello.protocol_version, kColoProtocolVersion);
  }
  if (hello.ram_bytes == 0 || hello.ram_bytes > kMaxGuestRam) {
    return Fail(ErrorCode::kProtocol, "guest RAM of {} bytes is out of range", hello.ram_bytes);
  }
  vmm::MachineConfig config;
  config.ram_bytes = hello.ram_bytes;
  config.vcpus = hello.vcpus;
  config.guest = hello.guest;
  config.guest_args = hello.guest_args;
  config.ring_bytes = hello.ring_bytes;
  config.boot = false;  // RAM and registers come from the first checkpoint
  config.dirty_mode = options_.dirty_mode;
  config.serial = options_.serial;
  FTVM_ASSIGN_OR_RETURN(machine_, vmm::Machine::Create(config));
  control_.set_guest(*machine_);
  passive_ = hello.passive != 0;
  std::vector<ram::RamBlock> views;
  for (const vmm::RamBlock& b : machine_->ram_blocks()) {
    views.push_back({b.name(), b.bytes(), b.gpa(), static_cast<uint32_t>(b.page_size())});
  }
  ram::ReceiverOptions ram_options = options_.ram;
  ram_options.max_pinned_bytes = control_.parameters().pinned_budget_bytes;
  FTVM_ASSIGN_OR_RETURN(receiver_,
                        ram::RamReceiver::Create(&link_->channel(), std::move(views), ram_options));
  link_->set_ram_handlers({
      .message =
          [this](std::span<const std::byte> m) {
            if (in_.n != 0 && !in_.ram_seen) {
              in_.ram_seen = true;
              MaybeKill(options_.kill_at, "ram", in_.n);
            }
            return receiver_->HandleMessage(m);
          },
      .completion = [this](const rdma::Completion& c) { return receiver_->HandleCompletion(c); },
  });
  Log().info("secondary: guest '{}' with {} of RAM, {} mode", hello.guest,
             FormatBytes(hello.ram_bytes), passive_ ? "passive" : "COLO (running)");
  return {};
}

Result<void> Secondary::Serve() {
  for (;;) {
    if (control_.quit_requested()) return {};
    if (control_.state().status == Status::kFailover) {
      return Fail(ErrorCode::kAborted, "failover requested by the operator");
    }
    FTVM_TRY(link_->Poll(kPollSlice));
    while (link_->has_message()) FTVM_TRY(OnMessage(link_->PopMessage()));
    // Judge silence right after a poll: time this thread spent on its own work (a commit,
    // starting the dirty log, resuming) must not count against a primary whose messages
    // were waiting in the queue meanwhile.
    const uint64_t silent_ms = link_->PeerSilentNs() / 1'000'000;
    // Inside a checkpoint and during the initial sync the primary's engine thread is busy
    // with bulk work (copying to its staging mirror, ram/ rounds) and sends no heartbeats:
    // the step bound applies there, while the transport's own keepalive still notices a
    // dead primary within the heartbeat timeout.
    const bool busy = in_.n != 0 || control_.state().status == Status::kSync;
    const uint64_t limit_ms =
        busy ? options_.checkpoint_timeout_ms : control_.parameters().heartbeat_timeout_ms;
    if (silent_ms > limit_ms) {
      return Fail(ErrorCode::kPeerLost, "no word from the primary for {} ms", silent_ms);
    }
    FTVM_TRY(MaybeComplete());
    if (fatal_) return Fail(*fatal_);
    FTVM_TRY(link_->MaybeHeartbeat(committed_));
  }
}

Result<void> Secondary::OnMessage(PeerLink::Received&& m) {
  return std::visit(
      [&](auto& msg) -> Result<void> {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, CheckpointRequest>) {
          return OnRequest(msg.seq);
        } else if constexpr (std::is_same_v<T, VmstateSize>) {
          return OnVmstateSize(msg);
        } else if constexpr (std::is_same_v<T, VmstateData>) {
          return OnVmstateData(msg);
        } else if constexpr (std::is_same_v<T, Goodbye>) {
          primary_goodbye_ = msg.reason;
          return Fail(ErrorCode::kClosed, "the primary ended replication: {}", msg.reason);
        } else {
          return Fail(ErrorCode::kProtocol, "unexpected {} from the primary",
                      MessageName(m.message));
        }
      },
      m.message);
}

Result<void> Secondary::Failover(const Error& why, bool requested) {
  if (!requested) {
    Log().warn("secondary: primary lost: {}", why.ToString());
    FTVM_TRY(control_.Apply(Event::kPeerLost));
    control_.Emit({.kind = EngineEventKind::kPeerLost, .text = why.ToString()});
  }
  if (control_.state().status == Status::kFailed) {
    return Fail(ErrorCode::kPeerLost,
                "the primary was lost before the first checkpoint: nothing to take over ({})",
                why.ToString());
  }
  const ColoState before = control_.state();
  FTVM_TRY(control_.Apply(Event::kFailoverStarted));
  // Drop the checkpoint in flight: guest memory is still at the last commit.
  if (receiver_) receiver_->Discard();
  if (link_) link_->Shutdown();
  in_ = Incoming{};
  // A commit that caught the guest after it exited leaves nothing to run (ResumeGuest keeps it
  // paused; RunUntilQuit below returns at once with the exit).
  if (machine_->paused()) FTVM_TRY(Local(ResumeGuest()));
  FTVM_TRY(control_.Apply(Event::kFailoverDone));
  control_.Emit({.kind = EngineEventKind::kFailover,
                 .mode = before.mode,
                 .reason = before.reason,
                 .checkpoint = committed_});
  Log().warn("secondary: FAILOVER ({}): the guest runs here from checkpoint {}",
             Name(before.reason), committed_);
  FTVM_TRY(RunUntilQuit(*machine_, control_));
  return Quit();
}

Result<void> Secondary::Quit() {
  if (link_) link_->SayGoodbye("secondary quit", GoodbyeTimeout());
  (void)control_.Apply(Event::kQuit);
  if (machine_ && !machine_->paused()) (void)machine_->Pause();
  control_.set_guest_running(false);
  control_.Emit({.kind = EngineEventKind::kStop});
  Log().info("secondary: stopped after {} checkpoints", committed_);
  return {};
}

Result<void> Secondary::ResumeGuest() {
  // A guest that exited (possibly just before the pause of the checkpoint that caught it)
  // has nothing left to run: stay paused; the engine ends on the exit.
  if (const vmm::ControlStatus s = machine_->control().status(); s.exited) {
    Log().warn("secondary: the guest exited with code {} by checkpoint {}: not resumed",
               s.exit_code, committed_);
    return {};
  }
  FTVM_TRY_CTX(machine_->Resume(VcpuTimeout(options_)), "resume guest");
  control_.set_guest_running(true);
  control_.Emit({.kind = EngineEventKind::kResume});
  return {};
}

void Secondary::PublishReplication() {
  const ram::RamStats& s = receiver_->stats();
  control_.set_replication({
      .transport = link_->channel().info().provider,
      .registration = ram::RegistrationModeName(receiver_->mode()),
      .pinned_bytes = s.pinned_bytes,
      .registrations = s.registrations,
      .unregistrations = s.unregistrations,
      .zero_chunks = s.zero_ranges,
      .writes_in_flight = 0,
  });
}

}  // namespace ftvm::colo
