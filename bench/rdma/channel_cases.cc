// The Channel side of each benchmark case: writes, message rate, ping-pong latency.
#include <thread>

#include "base/time.h"
#include "bench/rdma/channel_cases.h"

namespace ftvm::rdma::bench {
namespace {

using std::chrono::milliseconds;

Result<void> CheckAll(std::span<const Completion> done, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (done[i].status != CompletionStatus::kSuccess) {
      return Fail(ErrorCode::kInternal, "wr {} completed with {}", done[i].wr_id,
                  CompletionStatusName(done[i].status));
    }
  }
  return {};
}

}  // namespace

Result<Endpoints> Open(const std::string& uri, const ChannelOptions& options) {
  FTVM_ASSIGN_OR_RETURN(std::unique_ptr<Listener> listener, Listen(uri, options));
  const std::string where = listener->uri();
  Result<std::unique_ptr<Channel>> client = Fail(ErrorCode::kInternal, "not connected");
  std::thread connector([&] { client = Connect(where, options); });
  auto server = listener->Accept(milliseconds(10000));
  connector.join();
  FTVM_TRY(client);
  FTVM_TRY(server);
  return Endpoints{std::move(*client), std::move(*server)};
}

Result<Measurement> ChannelWrites(Endpoints& ends, const CaseConfig& config) {
  FTVM_ASSIGN_OR_RETURN(Mapping source, FilledMemory(config.region_bytes));
  FTVM_ASSIGN_OR_RETURN(Mapping target, FilledMemory(config.region_bytes));
  FTVM_ASSIGN_OR_RETURN(MemoryRegion src,
                        ends.client->RegisterMemory(source.bytes(), kAccessLocalWrite));
  FTVM_ASSIGN_OR_RETURN(
      MemoryRegion dst,
      ends.server->RegisterMemory(target.bytes(), kAccessLocalWrite | kAccessRemoteWrite));
  const ScopedRegion src_guard(ends.client.get(), src);
  const ScopedRegion dst_guard(ends.server.get(), dst);
  const uint64_t post_bytes = uint64_t{config.write_bytes} * config.batch;
  // Keep ~16 MiB in flight (at least 4 posts); signal one post in eight of them, as verbs users
  // do (selective signalling); the completion of post k retires every post up to k.
  const uint64_t max_posts = std::max<uint64_t>(4, (16u << 20) / post_bytes);
  const uint64_t every = std::max<uint64_t>(1, max_posts / 8);
  std::vector<WriteRequest> batch(config.batch);
  std::vector<Completion> done(64);
  uint64_t posted = 0;
  uint64_t retired = 0;
  bool marked = false;
  size_t at = 0;
  const Stopwatch clock;
  const auto duration = static_cast<uint64_t>(Nanos(config.duration).count());
  for (;;) {
    const bool time_up = clock.ElapsedNs() >= duration;
    while (!time_up && posted - retired < max_posts) {
      for (uint32_t i = 0; i < config.batch; ++i) {
        if (at + config.write_bytes > config.region_bytes) at = 0;
        batch[i] = WriteRequest{.wr_id = posted,
                                .local_addr = src.addr + at,
                                .lkey = src.lkey,
                                .length = config.write_bytes,
                                .remote_addr = dst.remote_addr() + at,
                                .rkey = dst.rkey,
                                .signaled = i + 1 == config.batch && posted % every == every - 1};
        at += config.write_bytes;
      }
      FTVM_TRY(ends.client->PostWrites(batch));
      ++posted;
    }
    if (time_up && posted == retired) break;
    if (time_up && !marked && (posted - 1) % every != every - 1) {
      // Make the last post signaled: one more write, retiring everything before it.
      WriteRequest last = batch.back();
      last.wr_id = posted - 1;
      last.signaled = true;
      FTVM_TRY(ends.client->PostWrite(last));
      marked = true;
    }
    FTVM_ASSIGN_OR_RETURN(const size_t n, ends.client->Poll(done, milliseconds(5000)));
    if (n == 0) return Fail(ErrorCode::kTimeout, "no write completion for 5 s");
    FTVM_TRY(CheckAll(done, n));
    for (size_t i = 0; i < n; ++i) retired = std::max(retired, done[i].wr_id + 1);
  }
  const double seconds = static_cast<double>(clock.ElapsedNs()) / 1e9;
  return Measurement{.bytes_per_s = static_cast<double>(posted * post_bytes) / seconds,
                     .ops_per_s = static_cast<double>(posted * config.batch) / seconds};
}

Result<Measurement> ChannelMessages(Endpoints& ends, const CaseConfig& config) {
  std::vector<std::byte> message(config.message_bytes, std::byte{7});
  std::vector<std::byte> stop(config.message_bytes + 1, std::byte{0});
  uint64_t received = 0;
  Result<void> server_result;
  std::thread server([&] {
    std::vector<Completion> got(64);
    for (;;) {
      auto n = ends.server->Poll(got, milliseconds(5000));
      if (!n || *n == 0) {
        server_result = Fail(ErrorCode::kTimeout, "message receiver starved");
        return;
      }
      for (size_t i = 0; i < *n; ++i) {
        if (got[i].message.size() == stop.size()) return;
        ++received;
      }
    }
  });
  std::vector<Completion> done(64);
  const Stopwatch clock;
  uint64_t id = 0;
  while (clock.ElapsedNs() < static_cast<uint64_t>(Nanos(config.duration).count())) {
    auto posted = ends.client->PostSend(message, id, id % 64 == 63);
    if (posted) {
      ++id;
      continue;
    }
    if (posted.error().code() != ErrorCode::kResourceExhausted) return Fail(posted.error());
    FTVM_TRY(ends.client->Poll(done, milliseconds(1000)));
  }
  while (!ends.client->PostSend(stop, id, true))
    FTVM_TRY(ends.client->Poll(done, milliseconds(1000)));
  server.join();
  FTVM_TRY(server_result);
  while (true) {  // drain our send completions so the channel is clean for the next case
    FTVM_ASSIGN_OR_RETURN(const size_t n, ends.client->Poll(done, milliseconds(200)));
    if (n == 0) break;
  }
  const double seconds = static_cast<double>(clock.ElapsedNs()) / 1e9;
  return Measurement{.ops_per_s = static_cast<double>(received) / seconds};
}

Result<Measurement> ChannelPingPong(Endpoints& ends, const CaseConfig& config, int iterations) {
  std::thread echo([&] {
    std::vector<Completion> got(16);
    uint64_t id = 0;
    for (;;) {
      auto n = ends.server->Poll(got, milliseconds(5000));
      if (!n || *n == 0) return;
      for (size_t i = 0; i < *n; ++i) {
        if (got[i].opcode != Opcode::kRecv) continue;
        if (got[i].message.empty()) return;
        if (!ends.server->PostSend(got[i].message, id, id % 64 == 63)) return;
        ++id;
      }
    }
  });
  std::vector<std::byte> message(config.message_bytes, std::byte{1});
  std::vector<Completion> got(16);
  std::vector<uint64_t> rtt;
  rtt.reserve(iterations);
  Result<void> result;
  for (int i = 0; i < iterations && result; ++i) {
    const uint64_t start = MonotonicNs();
    result = ends.client->PostSend(message, i, i % 64 == 63);
    for (bool answered = false; result && !answered;) {
      auto n = ends.client->Poll(got, milliseconds(5000));
      if (!n || *n == 0) {
        result = Fail(ErrorCode::kTimeout, "no echo");
        break;
      }
      for (size_t k = 0; k < *n; ++k) answered |= got[k].opcode == Opcode::kRecv;
    }
    rtt.push_back(MonotonicNs() - start);
  }
  (void)ends.client->PostSend({}, 0);  // an empty message stops the echo
  echo.join();
  FTVM_TRY(result);
  Measurement m;
  Percentiles(rtt, &m.rtt_median_us, &m.rtt_p99_us);
  return m;
}

}  // namespace ftvm::rdma::bench
