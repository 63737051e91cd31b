#include "tests/ram/replication_fixture.h"

#include "base/check.h"

namespace ftvm::ram::testing {

ReplicationPair::ReplicationPair(std::unique_ptr<rdma::Channel> primary,
                                 std::unique_ptr<rdma::Channel> secondary,
                                 std::span<const BlockSpec> specs, ReceiverOptions receiver_options)
    : primary_channel_(std::move(primary)),
      secondary_channel_(std::move(secondary)),
      script_(specs),
      secondary_(MakeBlocks(specs)) {
  for (size_t b = 0; b < specs.size(); ++b) FillRandom(secondary_[b].view.host, 2000 + b);
  auto receiver =
      RamReceiver::Create(secondary_channel_.get(), Views(secondary_), receiver_options);
  FTVM_CHECK(receiver.has_value(), "{}", receiver.error().ToString());
  receiver_ = std::move(*receiver);
  loop_ = std::make_unique<SecondaryLoop>(secondary_channel_.get(), receiver_.get());
  loop_->Start();
}

ReplicationPair::~ReplicationPair() {
  sender_.reset();  // deregisters on the primary channel
  primary_channel_->Close();
  loop_->Stop();
}

Result<void> ReplicationPair::StartSender(SenderOptions options) {
  FTVM_ASSIGN_OR_RETURN(
      sender_, RamSender::Start(primary_channel_.get(), script_.views(), std::move(options)));
  return {};
}

Result<CheckpointSummary> ReplicationPair::Send(uint64_t id, const DirtyPattern& pattern) {
  const std::vector<Bitmap> dirty = script_.Run(pattern);
  const auto spans = Spans(dirty);
  return sender_->SendCheckpoint(id, spans);
}

Result<AckStatus> ReplicationPair::Round(uint64_t id, const DirtyPattern& pattern) {
  FTVM_TRY(Send(id, pattern));
  return sender_->WaitForAck(std::chrono::seconds(10));
}

std::vector<Bitmap> ReplicationPair::AllPages() const {
  std::vector<Bitmap> all;
  for (const TestBlock& b : script_.blocks()) {
    const uint64_t pages = b.view.page_count();
    all.emplace_back(BitmapWords(pages));
    for (uint64_t p = 0; p < pages; ++p) SetPage(all.back(), p);
  }
  return all;
}

bool ReplicationPair::Mirrored() const {
  for (size_t b = 0; b < secondary_.size(); ++b) {
    const auto& p = script_.blocks()[b].view.host;
    if (std::memcmp(p.data(), secondary_[b].view.host.data(), p.size()) != 0) return false;
  }
  return true;
}

std::vector<std::vector<std::byte>> ReplicationPair::SnapshotPrimary() {
  std::vector<std::vector<std::byte>> out;
  for (const TestBlock& b : script_.blocks()) {
    out.emplace_back(b.view.host.begin(), b.view.host.end());
  }
  return out;
}

std::vector<std::vector<std::byte>> ReplicationPair::SnapshotSecondary() const {
  std::vector<std::vector<std::byte>> out;
  for (const TestBlock& b : secondary_) out.emplace_back(b.view.host.begin(), b.view.host.end());
  return out;
}

bool ReplicationPair::SecondaryEquals(const std::vector<std::vector<std::byte>>& snapshot) const {
  for (size_t b = 0; b < secondary_.size(); ++b) {
    if (std::memcmp(snapshot[b].data(), secondary_[b].view.host.data(), snapshot[b].size()) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace ftvm::ram::testing
