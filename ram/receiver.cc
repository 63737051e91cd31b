#include "ram/receiver.h"

#include <algorithm>

#include "ram/log.h"
#include "ram/trace_events.h"
#include "ram/write_queue.h"

namespace ftvm::ram {

std::string_view ReceiverStateName(ReceiverState state) {
  switch (state) {
    case ReceiverState::kAwaitingSetup:
      return "awaiting-setup";
    case ReceiverState::kIdle:
      return "idle";
    case ReceiverState::kReceiving:
      return "receiving";
    case ReceiverState::kComplete:
      return "complete";
    case ReceiverState::kDiscarding:
      return "discarding";
    case ReceiverState::kFailed:
      return "failed";
  }
  return "?";
}

RamReceiver::RamReceiver(rdma::Channel* channel, RamCache cache, ReceiverOptions options)
    : channel_(channel), options_(options), cache_(std::move(cache)) {
  for (size_t b = 0; b < cache_.block_count(); ++b) {
    table_.push_back(Describe(cache_.guest(static_cast<uint32_t>(b))));
    dirty_.emplace_back(BitmapWords(table_.back().page_count()));
  }
}

Result<std::unique_ptr<RamReceiver>> RamReceiver::Create(rdma::Channel* channel,
                                                         std::vector<RamBlock> guest,
                                                         ReceiverOptions options) {
  FTVM_ASSIGN_OR_RETURN(RamCache cache, RamCache::Create(guest));
  return std::unique_ptr<RamReceiver>(new RamReceiver(channel, std::move(cache), options));
}

void RamReceiver::MarkFailed(Error error) {
  Log().error("ram receiver failed in state {}: {}", ReceiverStateName(state_), error.ToString());
  state_ = ReceiverState::kFailed;
  if (error.code() == ErrorCode::kProtocol) channel_->Close();  // never trust this peer again
  error_ = std::move(error);
}

Result<void> RamReceiver::HandleMessage(std::span<const std::byte> message) {
  if (!IsRamMessage(message)) {
    return ftvm::Fail(ErrorCode::kInvalidArgument, "not a ram message ({} bytes)", message.size());
  }
  if (failed()) return ftvm::Fail(Error(*error_).Wrap("ram receiver failed earlier"));
  auto decoded = Decode(message);
  Result<void> handled;
  if (!decoded) {
    handled = ftvm::Fail(std::move(decoded.error()));
  } else {
    trace_ram_recv_message(rdma::PeekHeader(message)->type, message.size());
    handled = Dispatch(*decoded);
  }
  if (!handled) MarkFailed(handled.error());
  return handled;
}

Result<void> RamReceiver::HandleCompletion(const rdma::Completion& completion) {
  if (completion.status == rdma::CompletionStatus::kSuccess) return {};
  auto error =
      ftvm::Fail(CodeOf(completion.status), "reply {} failed", completion.wr_id & kRamWrIdSeqMask);
  if (!failed()) MarkFailed(error.error());
  return error;
}

Result<void> RamReceiver::Dispatch(Message& message) {
  if (auto* m = std::get_if<BlockTableRequest>(&message)) return OnBlockTable(*m);
  if (state_ == ReceiverState::kAwaitingSetup) {
    return ftvm::Fail(ErrorCode::kProtocol, "{} before the block table", MessageName(message));
  }
  if (auto* m = std::get_if<RegisterRequest>(&message)) return OnRegister(*m);
  if (auto* m = std::get_if<Unregister>(&message)) return OnUnregister(*m);
  if (auto* m = std::get_if<CheckpointBegin>(&message)) return OnBegin(*m);
  if (auto* m = std::get_if<DirtySet>(&message)) return OnDirtySet(*m);
  if (auto* m = std::get_if<Compress>(&message)) return OnCompress(*m);
  if (auto* m = std::get_if<CheckpointEnd>(&message)) return OnEnd(*m);
  return ftvm::Fail(ErrorCode::kProtocol, "{} is not for the secondary", MessageName(message));
}

Result<void> RamReceiver::OnBlockTable(const BlockTableRequest& request) {
  if (state_ != ReceiverState::kAwaitingSetup) {
    return ftvm::Fail(ErrorCode::kProtocol, "second block table");
  }
  const uint64_t mine = options_.max_pinned_bytes;
  const uint64_t theirs = request.max_pinned_bytes;
  const uint64_t budget = mine == 0 ? theirs : (theirs == 0 ? mine : std::min(mine, theirs));
  uint64_t total = 0;
  for (const BlockDesc& b : table_) total += b.length;
  auto match = MatchTables(table_, request.blocks);
  if (match && request.mode == RegistrationMode::kPinAll && budget != 0 && budget < total) {
    match = ftvm::Fail(ErrorCode::kInvalidArgument, "pin-all needs {} bytes, budget is {}", total,
                       budget);
  }
  auto geometry = ChunkGeometry::Create(request.chunk_shift, table_);
  if (match && !geometry) match = ftvm::Fail(std::move(geometry.error()));
  if (match && budget != 0 && budget < geometry->chunk_bytes()) {
    match = ftvm::Fail(ErrorCode::kInvalidArgument, "budget {} is below one chunk", budget);
  }
  if (!match) {
    // Tell the primary why, then stop: the tables will not match on this connection.
    (void)Reply(BlockTableResult{false, match.error().context(), 0, {}});
    return ftvm::Fail(std::move(match.error()).Wrap("block table"));
  }
  mode_ = request.mode;
  verify_ = request.verify;
  registration_ = CacheRegistration(channel_, &cache_, std::move(*geometry), budget);
  std::vector<RemoteBlock> remote;
  if (mode_ == RegistrationMode::kPinAll) {
    FTVM_ASSIGN_OR_RETURN(remote, registration_.PinAll());
  } else {
    remote = registration_.Addresses();
  }
  FTVM_TRY(Reply(BlockTableResult{true, "", budget, std::move(remote)}));
  state_ = ReceiverState::kIdle;
  Log().info("ram receiver ready: {} blocks, {} mode, budget {}, verify {}", table_.size(),
             mode_ == RegistrationMode::kPinAll ? "pin-all" : "on-demand", budget, verify_);
  return {};
}

Result<void> RamReceiver::OnRegister(const RegisterRequest& request) {
  if (mode_ != RegistrationMode::kOnDemand || state_ == ReceiverState::kComplete) {
    return ftvm::Fail(ErrorCode::kProtocol, "register request in {} / {}",
                      ReceiverStateName(state_),
                      mode_ == RegistrationMode::kPinAll ? "pin-all" : "on-demand");
  }
  for (const ChunkRef& c : request.chunks) FTVM_TRY(CheckChunk(registration_.geometry(), c));
  ++stats_.register_requests;
  RegisterResult result{true, "", {}};
  for (const ChunkRef& c : request.chunks) {
    auto rkey = registration_.RegisterChunk(c);
    if (!rkey && rkey.error().code() != ErrorCode::kProtocol) {
      // A local failure (memlock, provider): tell the primary before giving up.
      (void)Reply(RegisterResult{false, rkey.error().ToString(), {}});
    }
    if (!rkey) return ftvm::Fail(std::move(rkey.error()));
    result.chunks.push_back(RegisteredChunk{c, *rkey});
  }
  return Reply(result);
}

Result<void> RamReceiver::OnUnregister(const Unregister& request) {
  if (mode_ != RegistrationMode::kOnDemand || state_ == ReceiverState::kComplete) {
    return ftvm::Fail(ErrorCode::kProtocol, "unregister in {}", ReceiverStateName(state_));
  }
  for (const ChunkRef& c : request.chunks) FTVM_TRY(registration_.UnregisterChunk(c));
  return {};
}

Result<void> RamReceiver::Reply(const Message& message) {
  Encode(message, &encoded_);
  return channel_->PostSend(encoded_, kRamWrIdTag | ++send_seq_, /*signaled=*/true);
}

const RamStats& RamReceiver::stats() const {
  stats_.registrations = registration_.registrations();
  stats_.unregistrations = registration_.unregistrations();
  stats_.pinned_bytes = registration_.pinned_bytes();
  stats_.peak_pinned_bytes = registration_.peak_pinned_bytes();
  return stats_;
}

}  // namespace ftvm::ram
