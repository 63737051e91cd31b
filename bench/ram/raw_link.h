// The raw Channel ceiling shared by the RAM and checkpoint benchmarks: RDMA WRITEs of a source
// region into a registered, populated target on a second connection, through a WriteQueue with
// RamSender's posting discipline (in-flight bound, one signaled write per batch), without any of
// ram/'s logic. A round is "post the writes, then wait until every one completed".
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "base/mapping.h"
#include "base/result.h"
#include "ram/write_queue.h"
#include "rdma/channel.h"

namespace ftvm::ram::bench {

struct ChannelPair {
  std::unique_ptr<rdma::Channel> primary;    // the connecting end
  std::unique_ptr<rdma::Channel> secondary;  // the accepted end
};

// Both ends of one connection in this process (listen on `uri`, connect, accept).
Result<ChannelPair> ConnectPair(const std::string& uri, const rdma::ChannelOptions& options);

// Polls the target end of a connection until destroyed (the provider completes the initiator's
// writes either way; this keeps the target end as a real application would).
class Drainer {
 public:
  explicit Drainer(rdma::Channel* channel);
  ~Drainer();
  Drainer(const Drainer&) = delete;
  Drainer& operator=(const Drainer&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class RawLink {
 public:
  // Registers `source` on a new connection and a zero-filled, populated target of its size.
  static Result<std::unique_ptr<RawLink>> Open(const std::string& uri,
                                               const rdma::ChannelOptions& options,
                                               std::span<std::byte> source);
  ~RawLink();

  // Writes source[offset, offset + bytes) to the same offset of the target in writes of at
  // most `write_bytes`; returns the nanoseconds until the last one completed.
  Result<uint64_t> Round(uint64_t offset, uint64_t bytes, uint64_t write_bytes = 1u << 20);
  // The whole source.
  Result<uint64_t> Round() { return Round(0, src_.length); }
  // The target, for local copies beside the wire (populated, same size as the source).
  std::span<std::byte> target() const { return target_.bytes(); }

 private:
  RawLink() = default;
  ChannelPair pair_;
  Mapping target_;
  rdma::MemoryRegion src_;
  rdma::MemoryRegion dst_;
  std::optional<Drainer> drainer_;
  std::optional<WriteQueue> queue_;
};

}  // namespace ftvm::ram::bench
