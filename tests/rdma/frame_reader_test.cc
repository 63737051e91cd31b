// FrameReader without sockets: a memory byte source that hands out a few bytes at a time, a
// handler that records what it hears, real region checks.
#include "rdma/tcp/frame_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace ftvm::rdma::tcp {
namespace {

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::vector<std::byte> bytes, size_t chunk)
      : bytes_(std::move(bytes)), chunk_(chunk) {}
  Result<size_t> ReadSome(std::span<const iovec> iov) override {
    if (pos_ == bytes_.size()) return Fail(ErrorCode::kPeerLost, "end of stream");
    size_t budget = std::min(chunk_, bytes_.size() - pos_);
    size_t done = 0;
    for (const iovec& v : iov) {
      const size_t n = std::min(budget - done, v.iov_len);
      std::memcpy(v.iov_base, bytes_.data() + pos_ + done, n);
      done += n;
      if (done == budget) break;
    }
    pos_ += done;
    ++reads_;
    return done;
  }
  int reads() const { return reads_; }

 private:
  std::vector<std::byte> bytes_;
  size_t chunk_;
  size_t pos_ = 0;
  int reads_ = 0;
};

struct Recorder final : FrameHandler {
  bool Accepting() const override { return true; }
  Result<void> OnWritesLanded(uint64_t first, uint32_t count, bool) override {
    landed.emplace_back(first, count);
    return {};
  }
  void OnWriteRejected(uint64_t seq, NakReason reason, const std::string&) override {
    rejected.emplace_back(seq, reason);
  }
  MessageBuffer TakeMessageBuffer() override { return {}; }
  Result<void> OnMessage(uint64_t seq, MessageBuffer m, bool) override {
    messages.emplace_back(seq, std::string(reinterpret_cast<const char*>(m.data()), m.size()));
    return {};
  }
  Result<void> OnAck(uint64_t, uint64_t) override { return {}; }
  void OnNak(uint64_t, NakReason, std::string_view) override {}
  void OnClose() override { closed = true; }

  std::vector<std::pair<uint64_t, uint32_t>> landed;
  std::vector<std::pair<uint64_t, NakReason>> rejected;
  std::vector<std::pair<uint64_t, std::string>> messages;
  bool closed = false;
};

void Append(std::vector<std::byte>* out, const HeaderBytes& h) {
  out->insert(out->end(), h.begin(), h.end());
}
void AppendText(std::vector<std::byte>* out, std::string_view text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  out->insert(out->end(), p, p + text.size());
}
HeaderBytes Send(uint64_t seq, size_t bytes) {
  return EncodeFrameHeader(
      {.type = FrameType::kSend, .body_bytes = static_cast<uint32_t>(bytes), .seq = seq});
}

constexpr FrameLimits kLimits{.max_message_bytes = 4096, .handshake = false};

// Reads frames until the stream ends; returns the error that ended it.
Error ReadAll(FrameReader& reader) {
  for (;;) {
    auto type = reader.ReadFrame();
    if (!type) return type.error();
    if (*type == FrameType::kClose) return Error(ErrorCode::kClosed, "close");
  }
}

TEST(FrameReaderTest, SendRunDeliversEveryMessageInOrderFromOneRead) {
  std::vector<std::byte> stream;
  HeaderBytes first = Send(0, 3);
  std::vector<std::byte> run;
  Append(&run, Send(1, 2));
  AppendText(&run, "bb");
  Append(&run, Send(2, 0));
  Append(&run, Send(3, 4));
  AppendText(&run, "dddd");
  MarkSendRun(&first, run.size());
  Append(&stream, first);
  AppendText(&stream, "aaa");
  stream.insert(stream.end(), run.begin(), run.end());
  Append(&stream, EncodeFrameHeader({.type = FrameType::kClose}));
  RegionTable regions;
  Recorder rec;
  MemorySource source(stream, 1 << 20);
  FrameReader reader(&source, &regions, &rec, kLimits);
  EXPECT_EQ(ReadAll(reader).code(), ErrorCode::kClosed);
  ASSERT_EQ(rec.messages.size(), 4u);
  EXPECT_EQ(rec.messages[0], (std::pair<uint64_t, std::string>{0, "aaa"}));
  EXPECT_EQ(rec.messages[1].second, "bb");
  EXPECT_EQ(rec.messages[2].second, "");
  EXPECT_EQ(rec.messages[3], (std::pair<uint64_t, std::string>{3, "dddd"}));
  EXPECT_EQ(source.reads(), 2);  // header, then body + run + the next header
}

TEST(FrameReaderTest, SendRunHoldingAnythingButCompleteSendsIsAProtocolError) {
  const auto run_of = [](const std::vector<std::byte>& run) {
    std::vector<std::byte> stream;
    HeaderBytes first = Send(0, 0);
    MarkSendRun(&first, run.size());
    Append(&stream, first);
    stream.insert(stream.end(), run.begin(), run.end());
    return stream;
  };
  std::vector<std::byte> writes;  // a write frame smuggled into a run
  Append(&writes,
         EncodeFrameHeader({.type = FrameType::kWrites, .count = 1, .body_bytes = 16, .seq = 1}));
  writes.resize(writes.size() + 16);
  std::vector<std::byte> short_body;  // a send whose body runs past the run
  Append(&short_body, Send(1, 100));
  AppendText(&short_body, "x");
  std::vector<std::byte> nested;  // a run inside a run
  HeaderBytes inner = Send(1, 0);
  MarkSendRun(&inner, 24);
  Append(&nested, inner);
  Append(&nested, Send(2, 0));
  for (const auto& run : {writes, short_body, nested, std::vector<std::byte>(10)}) {
    RegionTable regions;
    Recorder rec;
    MemorySource source(run_of(run), 7);
    FrameReader reader(&source, &regions, &rec, kLimits);
    EXPECT_EQ(ReadAll(reader).code(), ErrorCode::kProtocol);
    EXPECT_TRUE(rec.landed.empty());
  }
}

TEST(FrameReaderTest, WritesLandThroughSmallReadsAndABadOneStopsTheFrame) {
  std::vector<std::byte> target(64, std::byte{0});
  RegionTable regions;
  auto region = regions.Register(target, kAccessLocalWrite | kAccessRemoteWrite);
  ASSERT_TRUE(region);
  const uint64_t base = region->remote_addr();
  std::vector<std::byte> body;
  AppendWriteDescriptor(&body, {base + 8, region->rkey, 4});
  AppendWriteDescriptor(&body, {base + 60, region->rkey, 8});  // 4 bytes past the end
  std::vector<std::byte> stream;
  Append(&stream,
         EncodeFrameHeader(
             {.type = FrameType::kWrites, .count = 2, .body_bytes = 32, .seq = 5, .aux = 12}));
  stream.insert(stream.end(), body.begin(), body.end());
  AppendText(&stream, "WXYZ12345678");
  Recorder rec;
  MemorySource source(stream, 3);
  FrameReader reader(&source, &regions, &rec, kLimits);
  EXPECT_EQ(ReadAll(reader).code(), ErrorCode::kRemoteAccess);
  EXPECT_EQ(rec.landed, (std::vector<std::pair<uint64_t, uint32_t>>{{5, 1}}));
  EXPECT_EQ(rec.rejected,
            (std::vector<std::pair<uint64_t, NakReason>>{{6, NakReason::kOutOfBounds}}));
  EXPECT_EQ(std::memcmp(target.data() + 8, "WXYZ", 4), 0);
  EXPECT_EQ(target[60], std::byte{0});  // nothing of the rejected write
}

}  // namespace
}  // namespace ftvm::rdma::tcp
