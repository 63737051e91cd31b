// The Channel side of the benchmark cases (one connected pair in this process).
#pragma once

#include <memory>
#include <string>

#include "bench/rdma/bench_util.h"
#include "rdma/channel.h"

namespace ftvm::rdma::bench {

struct Endpoints {
  std::unique_ptr<Channel> client;  // posts writes and sends
  std::unique_ptr<Channel> server;  // owns the target memory, receives
};

Result<Endpoints> Open(const std::string& uri, const ChannelOptions& options);

// Writes of write_bytes, batch per PostWrites (last one signaled), ~16 MiB in flight.
Result<Measurement> ChannelWrites(Endpoints& ends, const CaseConfig& config);
// Sends of message_bytes as fast as credits allow; counted at the receiver.
Result<Measurement> ChannelMessages(Endpoints& ends, const CaseConfig& config);
// Send ping-pong of message_bytes.
Result<Measurement> ChannelPingPong(Endpoints& ends, const CaseConfig& config, int iterations);

}  // namespace ftvm::rdma::bench
