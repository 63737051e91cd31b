#include "ram/sender.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "ram/log.h"

namespace ftvm::ram {

namespace {

// Smallest channel message ram/ works with (a DirtySet of a few words, a Compress of a few
// ranges, a RegisterResult of a few chunks).
constexpr size_t kMinMessageBytes = 256;
// Work requests left to colo/ in the shared send queue.
constexpr uint32_t kReservedSendSlots = 16;

Result<void> ValidateOptions(const SenderOptions& o, std::span<const RamBlock> blocks) {
  FTVM_TRY(ValidateBlocks(blocks));
  const uint64_t chunk = uint64_t{1} << std::min(o.chunk_shift, 63u);
  if (o.max_write_bytes != 0) {
    uint32_t max_page = 0;
    for (const RamBlock& b : blocks) max_page = std::max(max_page, b.page_size);
    if (!std::has_single_bit(o.max_write_bytes) || o.max_write_bytes < max_page ||
        o.max_write_bytes > chunk) {
      return Fail(ErrorCode::kInvalidArgument,
                  "max_write_bytes {} is not a power of two between the page size and the chunk "
                  "size {}",
                  o.max_write_bytes, chunk);
    }
  }
  if (o.register_batch == 0 || o.reply_timeout.count() <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "register_batch and reply_timeout must be positive");
  }
  return {};
}

}  // namespace

RamSender::RamSender(rdma::Channel* channel, std::vector<RamBlock> blocks, SenderOptions options,
                     ChunkGeometry geometry)
    : channel_(channel),
      blocks_(std::move(blocks)),
      options_(std::move(options)),
      geometry_(std::move(geometry)),
      queue_(channel,
             channel->info().send_queue_depth > 2 * kReservedSendSlots
                 ? std::min(options_.max_writes_in_flight,
                            channel->info().send_queue_depth - kReservedSendSlots)
                 : options_.max_writes_in_flight,
             options_.signal_interval, [this](rdma::Completion&& c) {
               if (options_.on_foreign) {
                 options_.on_foreign(std::move(c));
               } else {
                 foreign_.push_back(std::move(c));
               }
             }) {
  for (const RamBlock& b : blocks_) {
    effective_.emplace_back(BitmapWords(b.page_count()));
    carry_.emplace_back(BitmapWords(b.page_count()));
  }
}

RamSender::~RamSender() = default;

Result<std::unique_ptr<RamSender>> RamSender::Start(rdma::Channel* channel,
                                                    std::vector<RamBlock> blocks,
                                                    SenderOptions options) {
  FTVM_TRY(ValidateOptions(options, blocks));
  if (channel->info().max_message_bytes < kMinMessageBytes) {
    return Fail(ErrorCode::kInvalidArgument, "channel messages of {} bytes; ram/ needs {}",
                channel->info().max_message_bytes, kMinMessageBytes);
  }
  FTVM_ASSIGN_OR_RETURN(ChunkGeometry geometry,
                        ChunkGeometry::Create(options.chunk_shift, DescribeAll(blocks)));
  std::unique_ptr<RamSender> sender(
      new RamSender(channel, std::move(blocks), std::move(options), std::move(geometry)));
  FTVM_TRY_CTX(sender->Handshake(), "ram setup");
  return sender;
}

Result<void> RamSender::Handshake() {
  BlockTableRequest request{options_.mode, static_cast<uint8_t>(options_.chunk_shift),
                            options_.verify, options_.max_pinned_bytes, DescribeAll(blocks_)};
  Encode(request, &encoded_);
  if (encoded_.size() > channel_->info().max_message_bytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "the block table takes {} bytes, more than a channel message ({}): fewer blocks "
                "or shorter names",
                encoded_.size(), channel_->info().max_message_bytes);
  }
  FTVM_TRY(SendMessage(request));
  const Deadline deadline(options_.reply_timeout);
  while (!table_result_) {
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "no block table result within {} ms",
                  options_.reply_timeout.count());
    }
    FTVM_TRY(PumpOnce(deadline.remaining()));
  }
  if (!table_result_->accepted) {
    return Fail(ErrorCode::kInvalidArgument, "the secondary rejected the block table: {}",
                table_result_->reason);
  }
  agreed_budget_ = table_result_->max_pinned_bytes;
  if (options_.max_pinned_bytes != 0 &&
      (agreed_budget_ == 0 || agreed_budget_ > options_.max_pinned_bytes)) {
    return Fail(ErrorCode::kProtocol, "the secondary agreed to a budget of {}, we asked {}",
                agreed_budget_, options_.max_pinned_bytes);
  }
  FTVM_ASSIGN_OR_RETURN(
      Registration registration,
      Registration::Create(channel_, blocks_, geometry_, options_.mode, agreed_budget_));
  registration_.emplace(std::move(registration));
  FTVM_TRY(registration_->SetRemote(table_result_->blocks));

  writer_.emplace(blocks_, &*registration_, &queue_, static_cast<Pump*>(this), WriterSettings(),
                  &stats_);
  Log().info("ram sender ready: {} blocks, {} mode, {} KiB chunks, budget {}, verify {}",
             blocks_.size(), RegistrationModeName(options_.mode), geometry_.chunk_bytes() >> 10,
             agreed_budget_, options_.verify);
  return {};
}

WriterConfig RamSender::WriterSettings() const {
  const size_t max_message = channel_->info().max_message_bytes;  // >= kMinMessageBytes
  WriterConfig config;
  config.detect_zero = options_.detect_zero;
  config.split_bytes =
      options_.max_write_bytes != 0 ? options_.max_write_bytes : geometry_.chunk_bytes();
  // A RegisterRequest's answer carries 12 bytes per chunk: size requests by the answer.
  config.max_chunks_per_message =
      std::min<size_t>(kMaxChunksPerMessage, (max_message - 64) / kRegisteredChunkBytes);
  config.max_ranges_per_message = (max_message - kCompressOverhead) / kZeroRangeBytes;
  config.register_batch = std::min<size_t>(options_.register_batch, config.max_chunks_per_message);
  config.timeout = options_.reply_timeout;
  return config;
}

Result<void> RamSender::Usable() const {
  if (broken_) return Fail(Error(*broken_).Wrap("ram sender is broken"));
  return {};
}

Result<void> RamSender::SendMessage(const Message& message) {
  Encode(message, &encoded_);
  FTVM_TRY(queue_.Send(encoded_, options_.reply_timeout));
  return {};
}

Result<size_t> RamSender::PumpOnce(Nanos timeout) {
  // Messages may already wait in the inbox (the queue polls on its own when the send queue is
  // full): handle them without waiting for anything new.
  const size_t queued = queue_.inbox().size();
  FTVM_ASSIGN_OR_RETURN(const size_t polled, queue_.Poll(queued > 0 ? Nanos(0) : timeout));
  FTVM_TRY(Dispatch());
  return queued + polled;
}

Result<void> RamSender::Dispatch() {
  auto& inbox = queue_.inbox();
  while (!inbox.empty()) {
    const std::vector<std::byte> bytes = std::move(inbox.front());
    inbox.pop_front();
    FTVM_ASSIGN_OR_RETURN(Message message, Decode(bytes));
    if (auto* result = std::get_if<RegisterResult>(&message); result != nullptr && writer_) {
      FTVM_TRY(writer_->OnRegisterResult(*result));
    } else if (auto* ack = std::get_if<CheckpointAck>(&message)) {
      FTVM_TRY(OnAck(*ack));
    } else if (auto* table = std::get_if<BlockTableResult>(&message); table && !table_result_) {
      table_result_ = std::move(*table);
    } else {
      return Fail(ErrorCode::kProtocol, "unexpected {} on the primary", MessageName(message));
    }
  }
  return {};
}

Result<void> RamSender::OnAck(const CheckpointAck& ack) {
  if (!awaiting_ack_ || ack.checkpoint != *awaiting_ack_) {
    return Fail(ErrorCode::kProtocol, "ack for checkpoint {}, expected {}", ack.checkpoint,
                awaiting_ack_.value_or(0));
  }
  awaiting_ack_.reset();
  last_ack_ = ack.status;
  if (ack.status == AckStatus::kCommitted) {
    ++stats_.commits;
    synced_ = synced_ || awaiting_full_;
    for (auto& words : carry_) std::ranges::fill(words, 0);
  } else {
    // The secondary's cache may hold part of that checkpoint: send its pages again next time.
    ++(ack.status == AckStatus::kVerifyFailed ? stats_.verify_failures : stats_.discards);
    Log().warn("checkpoint {} was {} by the secondary; its pages go out again", ack.checkpoint,
               ack.status == AckStatus::kVerifyFailed ? "rejected (verify)" : "discarded");
  }
  return {};
}

Result<AckStatus> RamSender::WaitForAck(Nanos timeout) {
  FTVM_TRY(Usable());
  if (!awaiting_ack_) {
    if (last_ack_) return *last_ack_;
    return Fail(ErrorCode::kInvalidArgument, "no checkpoint was sent");
  }
  const Deadline deadline(timeout);
  while (awaiting_ack_) {
    if (deadline.expired()) {
      return Fail(ErrorCode::kTimeout, "no ack for checkpoint {}", *awaiting_ack_);
    }
    FTVM_TRY(Check(PumpOnce(deadline.remaining())));
  }
  return *last_ack_;
}

Result<void> RamSender::HandleMessage(std::span<const std::byte> message) {
  FTVM_TRY(Usable());
  queue_.inbox().emplace_back(message.begin(), message.end());
  return Check(Dispatch());
}

std::vector<rdma::Completion> RamSender::TakeForeign() {
  std::vector<rdma::Completion> out(std::make_move_iterator(foreign_.begin()),
                                    std::make_move_iterator(foreign_.end()));
  foreign_.clear();
  return out;
}

const RamStats& RamSender::stats() const {
  if (registration_) {
    stats_.registrations = registration_->registrations();
    stats_.unregistrations = registration_->unregistrations();
    stats_.pinned_bytes = registration_->pinned_bytes();
    stats_.peak_pinned_bytes = registration_->peak_pinned_bytes();
  }
  stats_.peak_writes_in_flight = queue_.peak_writes_in_flight();
  return stats_;
}

}  // namespace ftvm::ram
