// `ftvm demo`: the whole job on one host, in well under a minute.
//
//   1. a private temp dir (control sockets, logs), a free port, the transport (auto: verbs if a
//      device is usable, else tcp over loopback)
//   2. `ftvm secondary` and `ftvm primary --guest dirtier` as children of /proc/self/exe
//   3. the initial sync, then a live line while the guest is checkpointed (checkpoints, last and
//      median pause, MB/s)
//   4. SIGKILL of the primary; the secondary's events (PEER_LOST, FAILOVER, RESUME) and its COLO
//      status; the guest running on (query-guest: pages written still growing)
//   5. the secondary's final info_checkpoint table; `quit` to the secondary
// Everything started is stopped and removed on success, error and Ctrl-C (children are in
// their own process group with PR_SET_PDEATHSIG, so even a SIGKILLed demo leaves none behind).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ftvm::app {

struct DemoOptions {
  std::chrono::milliseconds protect_for{8000};  // checkpointing before the primary is killed
  std::chrono::milliseconds run_on_for{3000};   // watching the survivor after the failover
  std::string mem = "256M";
  std::string transport = "auto";
  std::string address = "127.0.0.1";  // verbs: the RDMA port's IP address
  uint64_t checkpoint_delay_ms = 100;
  uint64_t dirty_rate = 20'000;  // guest page writes per second (0: as fast as it can)
  uint64_t heartbeat_timeout_ms = 5000;
  bool keep = false;  // keep the temp dir (logs) and say where it is
};

// Runs the demo; returns the exit status (0 when the failover happened and the guest ran on).
int RunDemo(const DemoOptions& options);

}  // namespace ftvm::app
