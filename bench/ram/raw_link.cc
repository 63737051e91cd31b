#include "bench/ram/raw_link.h"

#include <cstring>
#include <future>
#include <vector>

#include "base/time.h"
#include "ram/sender.h"

namespace ftvm::ram::bench {
namespace {

constexpr auto kTimeout = std::chrono::seconds(60);

}  // namespace

Result<ChannelPair> ConnectPair(const std::string& uri, const rdma::ChannelOptions& options) {
  FTVM_ASSIGN_OR_RETURN(auto listener, rdma::Listen(uri, options));
  auto connecting =
      std::async(std::launch::async, [&] { return rdma::Connect(listener->uri(), options); });
  auto accepted = listener->Accept(std::chrono::seconds(10));
  auto connected = connecting.get();
  FTVM_TRY(accepted);
  FTVM_TRY(connected);
  return ChannelPair{std::move(*connected), std::move(*accepted)};
}

Drainer::Drainer(rdma::Channel* channel)
    : thread_([this, channel] {
        std::vector<rdma::Completion> c(16);
        while (!stop_ && channel->Poll(c, std::chrono::milliseconds(5))) {
        }
      }) {}

Drainer::~Drainer() {
  stop_ = true;
  thread_.join();
}

Result<std::unique_ptr<RawLink>> RawLink::Open(const std::string& uri,
                                               const rdma::ChannelOptions& options,
                                               std::span<std::byte> source) {
  std::unique_ptr<RawLink> link(new RawLink());
  FTVM_ASSIGN_OR_RETURN(link->pair_, ConnectPair(uri, options));
  FTVM_ASSIGN_OR_RETURN(link->target_, Mapping::Anonymous(source.size()));
  std::memset(link->target_.data(), 0, link->target_.size());  // populated, as the cache is
  FTVM_ASSIGN_OR_RETURN(link->src_, link->pair_.primary->RegisterMemory(source, 0));
  FTVM_ASSIGN_OR_RETURN(
      link->dst_, link->pair_.secondary->RegisterMemory(
                      link->target_.bytes(), rdma::kAccessLocalWrite | rdma::kAccessRemoteWrite));
  link->drainer_.emplace(link->pair_.secondary.get());
  const SenderOptions defaults;  // RamSender's in-flight bound and signalling
  link->queue_.emplace(link->pair_.primary.get(), defaults.max_writes_in_flight,
                       defaults.signal_interval, [](rdma::Completion&&) {});
  return link;
}

RawLink::~RawLink() {
  drainer_.reset();
  if (pair_.primary) pair_.primary->Close();
}

Result<uint64_t> RawLink::Round(uint64_t offset, uint64_t bytes, uint64_t write_bytes) {
  if (offset > src_.length || bytes > src_.length - offset || write_bytes == 0) {
    return Fail(ErrorCode::kInvalidArgument, "raw round of {} bytes at {} outside {} bytes", bytes,
                offset, src_.length);
  }
  const Stopwatch watch;
  for (uint64_t at = offset; at < offset + bytes; at += write_bytes) {
    const auto length = static_cast<uint32_t>(std::min(write_bytes, offset + bytes - at));
    FTVM_TRY(queue_->Write({src_.addr + at, src_.lkey, length, dst_.remote_addr() + at, dst_.rkey},
                           kTimeout));
  }
  FTVM_TRY(queue_->Drain(kTimeout));
  return watch.ElapsedNs();
}

}  // namespace ftvm::ram::bench
