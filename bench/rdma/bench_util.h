// Shared pieces of the channel benchmark: results, timing, the plain-socket ceilings.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/mapping.h"
#include "base/result.h"

namespace ftvm::rdma::bench {

// What one case measured: throughput (bytes or messages per second) or latency.
struct Measurement {
  double bytes_per_s = 0;
  double ops_per_s = 0;
  double rtt_median_us = 0;
  double rtt_p99_us = 0;
};

struct CaseConfig {
  std::chrono::milliseconds duration{1500};
  uint32_t write_bytes = 4096;  // size of one write (one send()/recv() for the ceiling)
  uint32_t batch = 1;           // writes per post (iovecs per writev for the ceiling)
  uint32_t message_bytes = 64;
  size_t region_bytes = 64 << 20;
};

// Plain TCP over loopback, two threads, TCP_NODELAY, into a region of the same size.
// Stream of `batch` x `write_bytes` per writev()/readv() (batch 1: send()/recv()).
Result<Measurement> SocketStream(const CaseConfig& config);
// Messages of message_bytes, one send() each; the reader parses them out of large reads.
Result<Measurement> SocketMessages(const CaseConfig& config);
// Ping-pong of message_bytes between two threads.
Result<Measurement> SocketPingPong(const CaseConfig& config, int iterations);

// Median and 99th percentile of `samples_ns`, in microseconds.
void Percentiles(std::vector<uint64_t>& samples_ns, double* median_us, double* p99_us);

Result<Mapping> FilledMemory(size_t bytes);

}  // namespace ftvm::rdma::bench
