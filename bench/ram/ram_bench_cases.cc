#include "bench/ram/ram_bench_cases.h"

#include <cstring>
#include <optional>
#include <random>

#include "base/mapping.h"
#include "base/time.h"
#include "bench/ram/raw_link.h"
#include "ram/receiver.h"
#include "tests/ram/secondary_loop.h"
#include "tests/ram/test_util.h"

namespace ftvm::ram::bench {
namespace {

using testing::Bitmap;

constexpr uint32_t kChunkShift = 20;
constexpr auto kTimeout = std::chrono::seconds(60);

Result<Mapping> RandomMemory(uint64_t bytes) {
  FTVM_ASSIGN_OR_RETURN(Mapping m, Mapping::Anonymous(bytes));
  testing::FillRandom(m.bytes(), 12345);
  return m;
}

}  // namespace

rdma::ChannelOptions BenchChannelOptions(const BenchConfig& config) {
  rdma::ChannelOptions o;
  o.streams = config.streams;
  o.peer_timeout = std::chrono::milliseconds(5000);
  return o;
}

namespace {

// Single-thread memcpy between two populated 256 MiB buffers: the ceiling of Commit().
class MemcpyProbe {
 public:
  MemcpyProbe() : a_(*RandomMemory(kBytes)), b_(*Mapping::Anonymous(kBytes)) {
    std::memset(b_.data(), 0, kBytes);
  }
  uint64_t RoundNs() {
    const Stopwatch watch;
    std::memcpy(b_.data(), a_.data(), kBytes);
    return watch.ElapsedNs();
  }

 private:
  static constexpr size_t kBytes = 256 << 20;
  Mapping a_;
  Mapping b_;
};

// One primary/secondary pair in one registration mode, and the cases run on it.
class Session {
 public:
  static Result<std::unique_ptr<Session>> Open(const BenchConfig& config, RegistrationMode mode) {
    std::unique_ptr<Session> s(new Session(config, mode));
    FTVM_ASSIGN_OR_RETURN(ChannelPair pair, ConnectPair(config.uri, BenchChannelOptions(config)));
    s->primary_channel_ = std::move(pair.primary);
    s->secondary_channel_ = std::move(pair.secondary);
    FTVM_ASSIGN_OR_RETURN(s->guest_, RandomMemory(config.ram_bytes));
    FTVM_ASSIGN_OR_RETURN(s->secondary_guest_, Mapping::Anonymous(config.ram_bytes));
    std::memset(s->secondary_guest_.data(), 0, config.ram_bytes);
    FTVM_ASSIGN_OR_RETURN(s->receiver_,
                          RamReceiver::Create(s->secondary_channel_.get(),
                                              {{"pc.ram", s->secondary_guest_.bytes(), 0, 4096}}));
    s->loop_.emplace(s->secondary_channel_.get(), s->receiver_.get());
    s->loop_->Start();
    SenderOptions options;
    options.mode = mode;
    options.chunk_shift = kChunkShift;
    options.reply_timeout = kTimeout;
    FTVM_ASSIGN_OR_RETURN(s->sender_,
                          RamSender::Start(s->primary_channel_.get(),
                                           {{"pc.ram", s->guest_.bytes(), 0, 4096}}, options));
    FTVM_ASSIGN_OR_RETURN(
        s->raw_, RawLink::Open(config.uri, BenchChannelOptions(config), s->guest_.bytes()));
    return s;
  }
  ~Session() {
    raw_.reset();
    sender_.reset();
    primary_channel_->Close();
    if (loop_) loop_->Stop();
  }

  uint64_t pages() const { return guest_.size() / 4096; }
  std::span<std::byte> guest() { return guest_.bytes(); }

  // Sends `rounds` checkpoints of `dirty`; keeps the fastest, with its commit time.
  Result<CaseResult> Run(std::string name, const Bitmap& dirty, int rounds) {
    CaseResult result{.name = std::move(name), .mode = ModeName(), .ns = UINT64_MAX};
    const std::vector<DirtyBitmap> spans{dirty};
    result.raw_ns = UINT64_MAX;
    result.memcpy_ns = UINT64_MAX;
    for (int round = 0; round < rounds; ++round) {
      FTVM_ASSIGN_OR_RETURN(const uint64_t raw_ns, raw_->Round());
      result.raw_ns = std::min(result.raw_ns, raw_ns);
      result.memcpy_ns = std::min(result.memcpy_ns, memcpy_.RoundNs());
      const Stopwatch to_ack;
      FTVM_ASSIGN_OR_RETURN(const CheckpointSummary summary, sender_->SendCheckpoint(++id_, spans));
      FTVM_ASSIGN_OR_RETURN(const AckStatus ack, sender_->WaitForAck(kTimeout));
      if (ack != AckStatus::kCommitted) return Fail(ErrorCode::kInternal, "not committed");
      result.bytes = summary.dirty_pages * 4096;
      if (summary.ns < result.ns) {
        result.ns = summary.ns;
        result.ack_ns = to_ack.ElapsedNs();
        const auto commits = loop_->commits();
        result.commit_bytes = commits.back().bytes;
        result.commit_ns = commits.back().ns;
      }
    }
    result.stats = sender_->stats();
    return result;
  }

 private:
  Session(const BenchConfig& config, RegistrationMode mode) : config_(config), mode_(mode) {}
  std::string ModeName() const {
    return mode_ == RegistrationMode::kPinAll ? "pin-all" : "on-demand";
  }

  BenchConfig config_;
  RegistrationMode mode_;
  std::unique_ptr<rdma::Channel> primary_channel_;
  std::unique_ptr<rdma::Channel> secondary_channel_;
  Mapping guest_;
  Mapping secondary_guest_;
  std::unique_ptr<RamReceiver> receiver_;
  std::optional<testing::SecondaryLoop> loop_;
  std::unique_ptr<RamSender> sender_;
  std::unique_ptr<RawLink> raw_;
  MemcpyProbe memcpy_;
  uint64_t id_ = 0;
};

}  // namespace

Result<std::vector<CaseResult>> Replication(const BenchConfig& config, RegistrationMode mode) {
  FTVM_ASSIGN_OR_RETURN(auto session, Session::Open(config, mode));
  const uint64_t pages = session->pages();
  Bitmap all(BitmapWords(pages));
  SetAll(all, pages);
  std::vector<CaseResult> out;
  // The first checkpoint is full and cold (on-demand registers every chunk on the way).
  FTVM_ASSIGN_OR_RETURN(CaseResult cold, session->Run("first full sync (cold)", all, 1));
  out.push_back(cold);
  auto wanted = [&](char c) { return config.cases.find(c) != std::string::npos; };
  if (wanted('a')) {
    FTVM_ASSIGN_OR_RETURN(CaseResult a, session->Run("(a) all dirty, random", all, config.rounds));
    out.push_back(a);
  }
  if (wanted('b')) {
    // 9 of every 10 chunks all zero.
    const uint64_t chunk = uint64_t{1} << kChunkShift;
    for (uint64_t at = 0; at < session->guest().size(); at += chunk) {
      if ((at / chunk) % 10 != 0) std::memset(session->guest().data() + at, 0, chunk);
    }
    FTVM_ASSIGN_OR_RETURN(CaseResult b,
                          session->Run("(b) all dirty, 90 % zero chunks", all, config.rounds));
    out.push_back(b);
    testing::FillRandom(session->guest(), 777);
  }
  std::mt19937_64 rng(5);
  if (wanted('c')) {
    FTVM_ASSIGN_OR_RETURN(CaseResult c,
                          session->Run("(c) 1 % dirty, scattered",
                                       testing::RandomDirty(pages, 0.01, rng), config.rounds));
    out.push_back(c);
  }
  if (wanted('d')) {
    FTVM_ASSIGN_OR_RETURN(
        CaseResult d, session->Run("(d) 1 % dirty, clustered (64 pages)",
                                   testing::ClusteredDirty(pages, 0.01, 64, rng), config.rounds));
    out.push_back(d);
  }
  return out;
}

}  // namespace ftvm::ram::bench
