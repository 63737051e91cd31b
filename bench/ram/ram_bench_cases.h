// The cases of bench/ram/ram_bench.cc: a primary and a secondary in this process over a real
// Channel (both ends here, the secondary driven by its own thread), the raw Channel ceiling
// measured with the same posting discipline, and the four RAM replication cases of issue 4.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "ram/sender.h"
#include "rdma/channel.h"

namespace ftvm::ram::bench {

struct BenchConfig {
  std::string uri = "tcp://127.0.0.1:0";
  uint64_t ram_bytes = 1ull << 30;
  int rounds = 3;  // per case; the best round is reported (the machine is shared)
  uint32_t streams = 1;
  std::string cases = "a,b,c,d";  // which of (a)-(d) to run (the cold full sync always runs)
};

struct CaseResult {
  std::string name;    // "a all dirty", ...
  std::string mode;    // "pin-all" / "on-demand" / "-"
  uint64_t bytes = 0;  // guest bytes the checkpoint covered (dirty pages x page size)
  uint64_t ns = 0;     // best round
  uint64_t commit_bytes = 0;
  uint64_t commit_ns = 0;  // the secondary's Commit() copy of that round
  uint64_t raw_ns = 0;     // best raw Channel round (config.ram_bytes) run beside this case
  uint64_t ack_ns = 0;     // that round from SendCheckpoint to the secondary's commit ack
  uint64_t memcpy_ns = 0;  // best 256 MiB memcpy run beside this case
  RamStats stats{};        // the sender's, after the case
  double gbps() const { return ns == 0 ? 0 : static_cast<double>(bytes) / static_cast<double>(ns); }
  double raw_gbps(uint64_t raw_bytes) const {
    return raw_ns == 0 ? 0 : static_cast<double>(raw_bytes) / static_cast<double>(raw_ns);
  }
  double memcpy_gbps() const {
    return memcpy_ns == 0 ? 0 : static_cast<double>(256 << 20) / static_cast<double>(memcpy_ns);
  }
  double commit_gbps() const {
    return commit_ns == 0 ? 0 : static_cast<double>(commit_bytes) / static_cast<double>(commit_ns);
  }
};

rdma::ChannelOptions BenchChannelOptions(const BenchConfig& config);

// Cases (a)-(d) in one registration mode, after a full first checkpoint ("cold" row). Before
// every round of a case, one raw Channel round runs on a second connection: config.ram_bytes
// of 1 MiB RDMA WRITEs from the same guest memory through a WriteQueue (RamSender's posting
// discipline, without ram/), so each ratio compares rounds taken under the same load.
Result<std::vector<CaseResult>> Replication(const BenchConfig& config, RegistrationMode mode);

}  // namespace ftvm::ram::bench
