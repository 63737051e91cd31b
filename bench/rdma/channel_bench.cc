// Channel benchmark: each case beside a plain TCP socket doing the same sizes, measured in the
// same run, over loopback, both ends in this process. Prints a markdown table.
//
//   build/bench/rdma/channel_bench [--uri tcp://127.0.0.1:0] [--transport tcp|verbs|auto]
//       [--addr HOST] [--seconds S] [--streams N] [--only write4k,write64k,write1m,msg,lat]
//       [--rounds N] [--ceiling off]
//
// --transport verbs listens on rdma://HOST:0 (HOST from --addr, default 127.0.0.1), and fails
// clearly without an RDMA device; auto picks verbs when one is usable, else tcp (rdma/transport.h);
// --uri overrides both. The plain-socket ceiling always runs over loopback TCP.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/strings.h"
#include "bench/rdma/channel_cases.h"
#include "rdma/transport.h"

namespace ftvm::rdma::bench {
namespace {

struct Flags {
  std::string uri = "tcp://127.0.0.1:0";
  std::string only = "write4k,write64k,write1m,msg,lat";
  double seconds = 1.5;
  uint32_t streams = 1;
  bool ceiling = true;  // --ceiling off: measure only the channel (for profiling)
  int rounds = 3;       // each case alternates ours/ceiling this often; medians are reported
};

Result<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  std::string transport = "tcp";
  std::string addr = "127.0.0.1";
  bool uri_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return Fail(ErrorCode::kInvalidArgument, "{} needs a value", arg);
    const std::string value = argv[++i];
    if (arg == "--uri") {
      f.uri = value;
      uri_given = true;
    } else if (arg == "--transport") {
      transport = value;
    } else if (arg == "--addr") {
      addr = value;
    } else if (arg == "--seconds") {
      f.seconds = std::atof(value.c_str());
    } else if (arg == "--streams") {
      FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
      f.streams = static_cast<uint32_t>(n);
    } else if (arg == "--only") {
      f.only = value;
    } else if (arg == "--rounds") {
      FTVM_ASSIGN_OR_RETURN(const uint64_t n, ParseU64(value));
      f.rounds = static_cast<int>(std::max<uint64_t>(1, n));
    } else if (arg == "--ceiling") {
      f.ceiling = value != "off";
    } else {
      return Fail(ErrorCode::kInvalidArgument, "unknown flag {}", arg);
    }
  }
  if (!uri_given) {
    FTVM_ASSIGN_OR_RETURN(const Transport requested, ParseTransport(transport));
    FTVM_ASSIGN_OR_RETURN(const TransportChoice choice, ResolveTransport(requested));
    f.uri = TransportUri(choice.transport, HostPort{addr, 0});
  }
  return f;
}

std::string Rate(double bytes_per_s) { return fmt::format("{:.2f} GB/s", bytes_per_s / 1e9); }
std::string Mops(double ops) { return fmt::format("{:.0f} k/s", ops / 1e3); }

void Row(std::string_view name, const std::string& ours, const std::string& ceiling, double ratio,
         std::string_view target) {
  const std::string percent = ratio > 0 ? fmt::format("{:.0f} %", ratio * 100) : "-";
  std::printf("| %s | %s | %s | %s | %s |\n", std::string(name).c_str(), ours.c_str(),
              ceiling.c_str(), percent.c_str(), std::string(target).c_str());
  std::fflush(stdout);
}

// Runs `measure` and `ceiling` alternately f.rounds times and returns the median of each:
// alternating keeps both exposed to the same background load.
template <class Ours, class Ceiling>
Result<std::pair<Measurement, Measurement>> Alternate(const Flags& f, Ours ours, Ceiling ceiling,
                                                      double Measurement::* key) {
  std::vector<Measurement> a;
  std::vector<Measurement> b;
  for (int r = 0; r < f.rounds; ++r) {
    FTVM_ASSIGN_OR_RETURN(Measurement x, ours());
    a.push_back(x);
    if (!f.ceiling) continue;
    FTVM_ASSIGN_OR_RETURN(Measurement y, ceiling());
    b.push_back(y);
  }
  const auto median = [&](std::vector<Measurement>& v) {
    if (v.empty()) return Measurement{};
    std::sort(v.begin(), v.end(),
              [&](const Measurement& l, const Measurement& r) { return l.*key < r.*key; });
    return v[v.size() / 2];
  };
  return std::pair{median(a), median(b)};
}

Result<void> RunWrites(Endpoints& ends, const Flags& f, std::string_view name, uint32_t bytes,
                       uint32_t batch, std::string_view target) {
  CaseConfig c;
  c.duration = std::chrono::milliseconds(static_cast<int64_t>(f.seconds * 1000));
  c.write_bytes = bytes;
  c.batch = batch;
  CaseConfig plain = c;
  plain.batch = 1;
  FTVM_ASSIGN_OR_RETURN(auto per_write,
                        Alternate(
                            f, [&] { return ChannelWrites(ends, c); },
                            [&] { return SocketStream(plain); }, &Measurement::bytes_per_s));
  const auto& [ours, socket] = per_write;
  if (!f.ceiling) {
    Row(name, Rate(ours.bytes_per_s), "-", 0, target);
    return {};
  }
  Row(name, Rate(ours.bytes_per_s), Rate(socket.bytes_per_s) + " (send/recv per write)",
      ours.bytes_per_s / socket.bytes_per_s, target);
  if (batch > 1 && f.ceiling) {
    FTVM_ASSIGN_OR_RETURN(auto batched,
                          Alternate(
                              f, [&] { return ChannelWrites(ends, c); },
                              [&] { return SocketStream(c); }, &Measurement::bytes_per_s));
    Row(fmt::format("{} vs batched socket", name), Rate(batched.first.bytes_per_s),
        Rate(batched.second.bytes_per_s) + fmt::format(" (writev/readv of {})", batch),
        batched.first.bytes_per_s / batched.second.bytes_per_s, target);
  }
  return {};
}

Result<void> Run(const Flags& f) {
  ChannelOptions options;
  options.streams = f.streams;
  options.send_queue_depth = 8192;
  options.max_message_bytes = 64 << 10;
  FTVM_ASSIGN_OR_RETURN(Endpoints ends, Open(f.uri, options));
  std::printf(
      "Channel %s (%s, %u stream%s) vs plain loopback TCP; %.1f s per run, median of %d "
      "alternating runs\n\n",
      ends.client->info().provider.c_str(), f.uri.c_str(), f.streams, f.streams == 1 ? "" : "s",
      f.seconds, f.rounds);
  std::printf("| case | ours | plain socket (ceiling) | ratio | target |\n");
  std::printf("|------|------|------------------------|-------|--------|\n");
  const auto wanted = [&](std::string_view name) {
    for (std::string_view w : Split(f.only, ',')) {
      if (w == name) return true;
    }
    return false;
  };
  if (wanted("write4k"))
    FTVM_TRY(RunWrites(ends, f, "write 4 KiB x 64 per post", 4096, 64, ">= 70 %"));
  if (wanted("write64k")) FTVM_TRY(RunWrites(ends, f, "write 64 KiB", 64 << 10, 1, ""));
  if (wanted("write1m")) FTVM_TRY(RunWrites(ends, f, "write 1 MiB", 1 << 20, 1, ">= 90 %"));
  CaseConfig c;
  c.duration = std::chrono::milliseconds(static_cast<int64_t>(f.seconds * 1000));
  if (wanted("msg")) {
    FTVM_ASSIGN_OR_RETURN(auto m, Alternate(
                                      f, [&] { return ChannelMessages(ends, c); },
                                      [&] { return SocketMessages(c); }, &Measurement::ops_per_s));
    Row("messages of 64 B", Mops(m.first.ops_per_s),
        f.ceiling ? Mops(m.second.ops_per_s) + " (send() each)" : "-",
        m.second.ops_per_s > 0 ? m.first.ops_per_s / m.second.ops_per_s : 0, "");
  }
  if (wanted("lat")) {
    constexpr int kIterations = 20000;
    FTVM_ASSIGN_OR_RETURN(
        auto l, Alternate(
                    f, [&] { return ChannelPingPong(ends, c, kIterations); },
                    [&] { return SocketPingPong(c, kIterations); }, &Measurement::rtt_median_us));
    Row("ping-pong 64 B, median round trip",
        fmt::format("{:.1f} us (p99 {:.1f})", l.first.rtt_median_us, l.first.rtt_p99_us),
        f.ceiling
            ? fmt::format("{:.1f} us (p99 {:.1f})", l.second.rtt_median_us, l.second.rtt_p99_us)
            : "-",
        l.first.rtt_median_us > 0 ? l.second.rtt_median_us / l.first.rtt_median_us : 0, "");
  }
  return {};
}

}  // namespace
}  // namespace ftvm::rdma::bench

int main(int argc, char** argv) {
  (void)ftvm::SetLogLevels("warn");
  auto flags = ftvm::rdma::bench::ParseFlags(argc, argv);
  if (!flags) {
    std::fprintf(stderr, "channel_bench: %s\n", flags.error().ToString().c_str());
    return 2;
  }
  auto result = ftvm::rdma::bench::Run(*flags);
  if (!result) {
    std::fprintf(stderr, "channel_bench: %s\n", result.error().ToString().c_str());
    return 1;
  }
  return 0;
}
