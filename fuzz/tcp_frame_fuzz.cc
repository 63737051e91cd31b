// Fuzzes the tcp provider's receive path: the frame decoder, write validation against the
// region table, the scatter of payloads into "registered" memory, and receive ordering, exactly
// as a stream's receiver thread runs them (FrameReader), fed from the fuzz input instead of a
// socket. Payloads land in an arena mapped at a fixed address, so seeds can name real regions;
// ASan catches any byte landing outside a region.
//
// Input: byte 0 = read chunk size (0: unlimited; bit 7: the stream starts with a hello), then
// the stream bytes. Seeds: FTVM_FUZZ_WRITE_SEEDS=fuzz/corpus/tcp_frame_fuzz ./tcp_frame_fuzz
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "rdma/tcp/frame.h"
#include "rdma/tcp/frame_reader.h"
#include "rdma/tcp/receive_order.h"
#include "rdma/tcp/region_table.h"
#include "rdma/tcp/send_queue.h"

namespace ftvm::rdma::tcp {
namespace {

// In ASan's high memory, below its allocator space (0x500000000000 on x86_64 in clang 19).
constexpr uintptr_t kArenaAddr = 0x300000000000;
constexpr size_t kArenaBytes = 64 << 10;
constexpr uint32_t kMaxMessage = 4096;

struct Arena {
  std::byte* base = nullptr;
  RegionTable table{0x5eed};
  MemoryRegion rw;  // [0, 32K): remote write
  MemoryRegion ro;  // [32K, 48K): local only

  Arena() {
    void* p = ::mmap(reinterpret_cast<void*>(kArenaAddr), kArenaBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) {  // still fuzzes, but seeds no longer name the regions
      std::fprintf(stderr, "tcp_frame_fuzz: cannot map the arena at %#lx: seeds will miss\n",
                   static_cast<unsigned long>(kArenaAddr));
      p = ::mmap(nullptr, kArenaBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (p == MAP_FAILED) std::abort();
    base = static_cast<std::byte*>(p);
    rw = *table.Register({base, 32 << 10}, kAccessLocalWrite | kAccessRemoteWrite);
    ro = *table.Register({base + (32 << 10), 16 << 10}, kAccessLocalWrite);
  }
};

Arena& GetArena() {
  static Arena* arena = new Arena();
  return *arena;
}

class FuzzSource final : public ByteSource {
 public:
  FuzzSource(const uint8_t* data, size_t size, size_t chunk)
      : data_(data), size_(size), chunk_(chunk) {}
  Result<size_t> ReadSome(std::span<const iovec> iov) override {
    if (pos_ == size_) return Fail(ErrorCode::kPeerLost, "end of input");
    size_t budget = std::min(size_ - pos_, chunk_ == 0 ? SIZE_MAX : chunk_);
    size_t done = 0;
    for (const iovec& v : iov) {
      const size_t n = std::min(budget, v.iov_len);
      std::memcpy(v.iov_base, data_ + pos_, n);
      pos_ += n;
      done += n;
      budget -= n;
      if (budget == 0) break;
    }
    if (done == 0) return Fail(ErrorCode::kInternal, "empty read");
    return done;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t chunk_;
  size_t pos_ = 0;
};

class FuzzHandler final : public FrameHandler {
 public:
  FuzzHandler() : order_(256, 16), sq_(64) {
    for (int i = 0; i < 64; ++i) sq_.Push(i, Opcode::kWrite, i % 3 == 0);
  }
  bool Accepting() const override { return true; }
  Result<void> OnWritesLanded(uint64_t first, uint32_t count, bool) override {
    return order_.Add(first, count, std::nullopt, &ready_);
  }
  void OnWriteRejected(uint64_t, NakReason, const std::string&) override {}
  MessageBuffer TakeMessageBuffer() override { return {}; }
  Result<void> OnMessage(uint64_t seq, MessageBuffer message, bool) override {
    FTVM_TRY(order_.Add(seq, 1, std::move(message), &ready_));
    for (size_t i = 0; i < ready_.size(); ++i) order_.Consume();
    ready_.clear();
    return {};
  }
  Result<void> OnAck(uint64_t watermark, uint64_t) override {
    return sq_.Acknowledge(watermark, &completions_);
  }
  void OnNak(uint64_t, NakReason, std::string_view) override {}
  void OnClose() override {}

 private:
  ReceiveOrder order_;
  SendQueue sq_;
  std::vector<MessageBuffer> ready_;
  std::deque<QueuedCompletion> completions_;
};

void RunStream(const uint8_t* data, size_t size) {
  if (size == 0) return;
  Arena& arena = GetArena();
  FuzzSource source(data + 1, size - 1, data[0] & 0x7f);
  if ((data[0] & 0x80) != 0) {  // a handshake first, as a listener reads it
    HeaderBytes h{};
    if (!source.ReadSome(std::vector<iovec>{{h.data(), h.size()}})) return;
    auto header = DecodeFrameHeader(h, FrameLimits{.handshake = true});
    std::array<std::byte, kHelloBytes> body{};
    if (!header || !source.ReadSome(std::vector<iovec>{{body.data(), body.size()}})) return;
    if (!DecodeHello(body)) return;
  }
  FuzzHandler handler;
  FrameReader reader(&source, &arena.table, &handler,
                     FrameLimits{.max_message_bytes = kMaxMessage, .handshake = false});
  for (int frames = 0; frames < 4096; ++frames) {
    auto type = reader.ReadFrame();
    if (!type || *type == FrameType::kClose || *type == FrameType::kNak) break;
  }
}

// ---- seeds ------------------------------------------------------------------------------------

void Put(std::vector<std::byte>* out, const FrameHeader& h) {
  const HeaderBytes b = EncodeFrameHeader(h);
  out->insert(out->end(), b.begin(), b.end());
}

void PutWrites(std::vector<std::byte>* out, uint64_t seq,
               const std::vector<WriteDescriptor>& writes, bool land_all = true) {
  uint64_t total = 0;
  std::vector<std::byte> body;
  for (const WriteDescriptor& w : writes) {
    AppendWriteDescriptor(&body, w);
    total += w.length;
  }
  Put(out, {.type = FrameType::kWrites,
            .flags = kFlagAckRequested,
            .count = static_cast<uint16_t>(writes.size()),
            .body_bytes = static_cast<uint32_t>(body.size()),
            .seq = seq,
            .aux = total});
  out->insert(out->end(), body.begin(), body.end());
  if (land_all) out->resize(out->size() + total, std::byte{0x5a});
}

void PutSend(std::vector<std::byte>* out, uint64_t seq, std::string_view text) {
  Put(out,
      {.type = FrameType::kSend, .body_bytes = static_cast<uint32_t>(text.size()), .seq = seq});
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  out->insert(out->end(), p, p + text.size());
}

void WriteSeeds(const char* dir) {
  Arena& a = GetArena();
  const uint64_t rw = a.rw.remote_addr();
  std::vector<std::pair<std::string, std::vector<std::byte>>> seeds;
  auto seed = [&](std::string name, uint8_t mode) {
    seeds.emplace_back(std::move(name), std::vector<std::byte>{std::byte{mode}});
    return &seeds.back().second;
  };
  auto* s = seed("writes_send_ack_close", 0);
  PutWrites(s, 0, {{rw, a.rw.rkey, 4096}, {rw + 8192, a.rw.rkey, 17}, {0, 0, 0}});
  PutSend(s, 3, "commit");
  Put(s, {.type = FrameType::kAck, .seq = 10, .aux = 1});
  Put(s, {.type = FrameType::kClose});
  s = seed("small_reads_out_of_order", 7);
  PutSend(s, 2, "after");
  PutWrites(s, 0, {{rw + 100, a.rw.rkey, 300}, {rw + 32767, a.rw.rkey, 1}});
  s = seed("send_run", 5);
  {
    std::vector<std::byte> run;
    PutSend(&run, 5, "second");
    PutSend(&run, 6, "");
    PutSend(&run, 7, "third");
    HeaderBytes first = EncodeFrameHeader({.type = FrameType::kSend, .body_bytes = 5, .seq = 4});
    MarkSendRun(&first, run.size());
    PutWrites(s, 0,
              {{rw, a.rw.rkey, 8},
               {rw + 64, a.rw.rkey, 8},
               {rw + 128, a.rw.rkey, 8},
               {rw + 192, a.rw.rkey, 8}});
    s->insert(s->end(), first.begin(), first.end());
    s->insert(s->end(), 5, std::byte{'f'});
    s->insert(s->end(), run.begin(), run.end());
  }
  s = seed("bad_rkey", 0);
  PutWrites(s, 0, {{rw, a.rw.rkey, 16}, {rw, a.rw.rkey ^ 1, 16}}, false);
  s = seed("out_of_bounds", 3);
  PutWrites(s, 0, {{rw + (32 << 10) - 8, a.rw.rkey, 16}}, false);
  s = seed("no_access", 0);
  PutWrites(s, 0, {{a.ro.remote_addr(), a.ro.rkey, 16}}, false);
  s = seed("hello_then_nak", 0x80);
  Put(s, {.type = FrameType::kHello, .body_bytes = kHelloBytes});
  Hello hello;
  hello.streams = 2;
  hello.recv_credits = 64;
  hello.max_message_bytes = 65536;
  hello.send_queue_depth = 1024;
  hello.peer_timeout_ms = 1000;
  hello.keepalive_interval_ms = 100;
  const auto hb = EncodeHello(hello);
  s->insert(s->end(), hb.begin(), hb.end());
  Put(s, {.type = FrameType::kNak, .body_bytes = 4, .seq = 1, .aux = 1});
  s->insert(s->end(), 4, std::byte{'o'});
  for (const auto& [name, bytes] : seeds) {
    std::ofstream f(std::string(dir) + "/" + name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), dir);
}

}  // namespace
}  // namespace ftvm::rdma::tcp

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FTVM_FUZZ_WRITE_SEEDS"); dir != nullptr) {
    ftvm::rdma::tcp::WriteSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ftvm::rdma::tcp::RunStream(data, size);
  return 0;
}
