// The ceilings: what plain loopback TCP sockets do with the same sizes, in the same process.
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "base/io.h"
#include "base/socket.h"
#include "base/time.h"
#include "bench/rdma/bench_util.h"

namespace ftvm::rdma::bench {
namespace {

struct SocketPair {
  UniqueFd writer;
  UniqueFd reader;
};

Result<SocketPair> Loopback() {
  FTVM_ASSIGN_OR_RETURN(UniqueFd listener, TcpListen({"127.0.0.1", 0}));
  FTVM_ASSIGN_OR_RETURN(const uint16_t port, LocalPort(listener.get()));
  FTVM_ASSIGN_OR_RETURN(UniqueFd a,
                        TcpConnect({"127.0.0.1", port}, Deadline(Nanos(2'000'000'000))));
  FTVM_ASSIGN_OR_RETURN(UniqueFd b, AcceptWithin(listener.get(), Deadline(Nanos(2'000'000'000))));
  return SocketPair{std::move(a), std::move(b)};
}

// Reads until EOF, `chunk` bytes per iovec, `batch` iovecs per readv, cycling through `region`.
uint64_t Drain(int fd, std::span<std::byte> region, size_t chunk, size_t batch) {
  std::vector<iovec> iov(batch);
  uint64_t total = 0;
  size_t at = 0;
  for (;;) {
    for (iovec& v : iov) {
      if (at + chunk > region.size()) at = 0;
      v = {region.data() + at, chunk};
      at += chunk;
    }
    size_t want = chunk * batch;
    size_t first = 0;
    while (want > 0) {
      const ssize_t n = ::readv(fd, &iov[first], static_cast<int>(iov.size() - first));
      if (n <= 0) return total;
      total += static_cast<uint64_t>(n);
      want -= static_cast<size_t>(n);
      ConsumeIovecs(iov, &first, static_cast<size_t>(n));
    }
  }
}

}  // namespace

Result<Mapping> FilledMemory(size_t bytes) {
  FTVM_ASSIGN_OR_RETURN(Mapping m, Mapping::Anonymous(bytes));
  for (size_t i = 0; i < bytes; i += 4096) m.data()[i] = std::byte{1};  // fault every page in
  std::memset(m.data(), 0x5a, bytes);
  return m;
}

void Percentiles(std::vector<uint64_t>& samples_ns, double* median_us, double* p99_us) {
  if (samples_ns.empty()) return;
  std::sort(samples_ns.begin(), samples_ns.end());
  *median_us = static_cast<double>(samples_ns[samples_ns.size() / 2]) / 1e3;
  *p99_us = static_cast<double>(samples_ns[samples_ns.size() * 99 / 100]) / 1e3;
}

Result<Measurement> SocketStream(const CaseConfig& config) {
  FTVM_ASSIGN_OR_RETURN(SocketPair pair, Loopback());
  FTVM_ASSIGN_OR_RETURN(Mapping source, FilledMemory(config.region_bytes));
  FTVM_ASSIGN_OR_RETURN(Mapping target, FilledMemory(config.region_bytes));
  std::atomic<uint64_t> received{0};
  std::thread reader([&] {
    received = Drain(pair.reader.get(), target.bytes(), config.write_bytes, config.batch);
  });
  std::vector<iovec> iov(config.batch);
  const Stopwatch clock;
  uint64_t sent = 0;
  size_t at = 0;
  while (clock.ElapsedNs() < static_cast<uint64_t>(Nanos(config.duration).count())) {
    for (iovec& v : iov) {
      if (at + config.write_bytes > source.size()) at = 0;
      v = {source.data() + at, config.write_bytes};
      at += config.write_bytes;
    }
    size_t first = 0;
    while (first < iov.size()) {
      const ssize_t n =
          ::writev(pair.writer.get(), &iov[first], static_cast<int>(iov.size() - first));
      if (n < 0) return SysFail("writev");
      sent += static_cast<uint64_t>(n);
      ConsumeIovecs(iov, &first, static_cast<size_t>(n));
    }
  }
  ::shutdown(pair.writer.get(), SHUT_WR);
  reader.join();
  const double seconds = static_cast<double>(clock.ElapsedNs()) / 1e9;
  return Measurement{
      .bytes_per_s = static_cast<double>(received.load()) / seconds,
      .ops_per_s = static_cast<double>(received.load()) / config.write_bytes / seconds};
}

Result<Measurement> SocketMessages(const CaseConfig& config) {
  FTVM_ASSIGN_OR_RETURN(SocketPair pair, Loopback());
  std::atomic<uint64_t> received{0};
  std::thread reader([&] {
    std::vector<std::byte> buf(256 << 10);
    std::vector<std::byte> message(config.message_bytes);
    uint64_t bytes = 0;
    for (;;) {
      const ssize_t n = ::read(pair.reader.get(), buf.data(), buf.size());
      if (n <= 0) break;
      // Parse: copy each complete message out, as a message-oriented reader would.
      for (ssize_t off = 0; off + config.message_bytes <= n; off += config.message_bytes) {
        std::memcpy(message.data(), buf.data() + off, config.message_bytes);
      }
      bytes += static_cast<uint64_t>(n);
    }
    received = bytes / config.message_bytes;
  });
  std::vector<std::byte> message(config.message_bytes, std::byte{7});
  const Stopwatch clock;
  while (clock.ElapsedNs() < static_cast<uint64_t>(Nanos(config.duration).count())) {
    for (int i = 0; i < 64; ++i) FTVM_TRY(WriteAll(pair.writer.get(), message));
  }
  ::shutdown(pair.writer.get(), SHUT_WR);
  reader.join();
  const double seconds = static_cast<double>(clock.ElapsedNs()) / 1e9;
  return Measurement{.ops_per_s = static_cast<double>(received.load()) / seconds};
}

Result<Measurement> SocketPingPong(const CaseConfig& config, int iterations) {
  FTVM_ASSIGN_OR_RETURN(SocketPair pair, Loopback());
  std::thread echo([&] {
    std::vector<std::byte> buf(config.message_bytes);
    while (ReadExact(pair.reader.get(), buf) && WriteAll(pair.reader.get(), buf)) {
    }
  });
  std::vector<std::byte> buf(config.message_bytes, std::byte{1});
  std::vector<uint64_t> rtt;
  rtt.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    const uint64_t start = MonotonicNs();
    FTVM_TRY(WriteAll(pair.writer.get(), buf));
    FTVM_TRY(ReadExact(pair.writer.get(), buf));
    rtt.push_back(MonotonicNs() - start);
  }
  ::shutdown(pair.writer.get(), SHUT_RDWR);
  echo.join();
  Measurement m;
  Percentiles(rtt, &m.rtt_median_us, &m.rtt_p99_us);
  return m;
}

}  // namespace ftvm::rdma::bench
