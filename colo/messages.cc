#include "colo/messages.h"

#include "base/wire.h"
#include "rdma/message.h"

namespace ftvm::colo {
namespace {

constexpr uint16_t kVersion = 1;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

WireWriter Begin(std::vector<std::byte>* out, ColoMsgType type) {
  return rdma::BeginMessage(out, static_cast<uint16_t>(type), kVersion);
}

Result<ColoMessage> DecodeHello(WireReader& r) {
  Hello h;
  h.protocol_version = r.Get<uint16_t>();
  h.guest = std::string(r.GetString16());
  h.guest_args = std::string(r.GetString16());
  h.vcpus = r.Get<uint32_t>();
  h.ram_bytes = r.Get<uint64_t>();
  h.ring_bytes = r.Get<uint64_t>();
  h.registration = r.Get<uint8_t>();
  h.passive = r.Get<uint8_t>();
  h.heartbeat_ms = r.Get<uint32_t>();
  if (r.ok() && h.passive > 1) r.Invalidate(fmt::format("passive flag {}", h.passive));
  FTVM_TRY(r.Finish("colo hello"));
  return h;
}

Result<ColoMessage> DecodeBody(ColoMsgType type, WireReader& r) {
  switch (type) {
    case ColoMsgType::kHello:
      return DecodeHello(r);
    case ColoMsgType::kHelloAck: {
      HelloAck a;
      a.accepted = r.Get<uint8_t>();
      a.reason = std::string(r.GetString16());
      FTVM_TRY(r.Finish("colo hello-ack"));
      return a;
    }
    case ColoMsgType::kCheckpointReady:
      FTVM_TRY(r.Finish("colo checkpoint-ready"));
      return CheckpointReady{};
    case ColoMsgType::kCheckpointRequest: {
      CheckpointRequest m{r.Get<uint64_t>()};
      FTVM_TRY(r.Finish("colo checkpoint-request"));
      return m;
    }
    case ColoMsgType::kCheckpointReply: {
      CheckpointReply m{r.Get<uint64_t>()};
      FTVM_TRY(r.Finish("colo checkpoint-reply"));
      return m;
    }
    case ColoMsgType::kVmstateSize: {
      VmstateSize m;
      m.seq = r.Get<uint64_t>();
      m.size = r.Get<uint32_t>();
      m.hash = r.Get<uint64_t>();
      m.has_ram_hash = r.Get<uint8_t>();
      m.ram_hash = r.Get<uint64_t>();
      if (r.ok() && m.size > kMaxVmstateBytes) {
        r.Invalidate(fmt::format("vmstate of {} bytes > max {}", m.size, kMaxVmstateBytes));
      }
      if (r.ok() && m.has_ram_hash > 1) {
        r.Invalidate(fmt::format("RAM hash flag {}", m.has_ram_hash));
      }
      FTVM_TRY(r.Finish("colo vmstate-size"));
      return m;
    }
    case ColoMsgType::kVmstateData: {
      VmstateData m;
      m.seq = r.Get<uint64_t>();
      m.offset = r.Get<uint32_t>();
      m.bytes = r.GetBytes(r.remaining());
      FTVM_TRY(r.Finish("colo vmstate-data"));
      return m;
    }
    case ColoMsgType::kVmstateReceived: {
      VmstateReceived m{r.Get<uint64_t>()};
      FTVM_TRY(r.Finish("colo vmstate-received"));
      return m;
    }
    case ColoMsgType::kVmstateLoaded: {
      VmstateLoaded m{r.Get<uint64_t>()};
      FTVM_TRY(r.Finish("colo vmstate-loaded"));
      return m;
    }
    case ColoMsgType::kHeartbeat: {
      Heartbeat m;
      m.seq = r.Get<uint64_t>();
      m.checkpoint = r.Get<uint64_t>();
      FTVM_TRY(r.Finish("colo heartbeat"));
      return m;
    }
    case ColoMsgType::kGoodbye: {
      Goodbye m{std::string(r.GetString16())};
      FTVM_TRY(r.Finish("colo goodbye"));
      return m;
    }
  }
  return Fail(ErrorCode::kProtocol, "unknown colo message type {:#06x}",
              static_cast<uint16_t>(type));
}

}  // namespace

void Encode(const ColoMessage& message, std::vector<std::byte>* out) {
  std::visit(
      Overloaded{
          [&](const Hello& h) {
            auto w = Begin(out, ColoMsgType::kHello);
            w.Put(h.protocol_version).PutString16(h.guest).PutString16(h.guest_args);
            w.Put(h.vcpus).Put(h.ram_bytes).Put(h.ring_bytes);
            w.Put(h.registration).Put(h.passive).Put(h.heartbeat_ms);
          },
          [&](const HelloAck& a) {
            Begin(out, ColoMsgType::kHelloAck).Put(a.accepted).PutString16(a.reason);
          },
          [&](const CheckpointReady&) { Begin(out, ColoMsgType::kCheckpointReady); },
          [&](const CheckpointRequest& m) {
            Begin(out, ColoMsgType::kCheckpointRequest).Put(m.seq);
          },
          [&](const CheckpointReply& m) { Begin(out, ColoMsgType::kCheckpointReply).Put(m.seq); },
          [&](const VmstateSize& m) {
            Begin(out, ColoMsgType::kVmstateSize)
                .Put(m.seq)
                .Put(m.size)
                .Put(m.hash)
                .Put(m.has_ram_hash)
                .Put(m.ram_hash);
          },
          [&](const VmstateData& m) {
            Begin(out, ColoMsgType::kVmstateData).Put(m.seq).Put(m.offset).PutBytes(m.bytes);
          },
          [&](const VmstateReceived& m) { Begin(out, ColoMsgType::kVmstateReceived).Put(m.seq); },
          [&](const VmstateLoaded& m) { Begin(out, ColoMsgType::kVmstateLoaded).Put(m.seq); },
          [&](const Heartbeat& m) {
            Begin(out, ColoMsgType::kHeartbeat).Put(m.seq).Put(m.checkpoint);
          },
          [&](const Goodbye& m) { Begin(out, ColoMsgType::kGoodbye).PutString16(m.reason); },
      },
      message);
}

bool IsColoMessage(std::span<const std::byte> message) {
  auto header = rdma::PeekHeader(message);
  return header && (header->type & 0xff00) == rdma::kMessageRangeColo;
}

Result<ColoMessage> DecodeColoMessage(std::span<const std::byte> message) {
  FTVM_ASSIGN_OR_RETURN(const rdma::MessageHeader header, rdma::PeekHeader(message));
  if ((header.type & 0xff00) != rdma::kMessageRangeColo) {
    return Fail(ErrorCode::kProtocol, "message type {:#06x} is not a colo message", header.type);
  }
  if (header.version != kVersion) {
    return Fail(ErrorCode::kProtocol, "colo message {:#06x}: version {} (this build speaks {})",
                header.type, header.version, kVersion);
  }
  WireReader r(rdma::Payload(message));
  return DecodeBody(static_cast<ColoMsgType>(header.type), r);
}

const char* MessageName(const ColoMessage& message) {
  static constexpr const char* kNames[] = {
      "hello",        "hello-ack",    "checkpoint-ready", "checkpoint-request", "checkpoint-reply",
      "vmstate-size", "vmstate-data", "vmstate-received", "vmstate-loaded",     "heartbeat",
      "goodbye"};
  static_assert(std::size(kNames) == std::variant_size_v<ColoMessage>);
  return kNames[message.index()];
}

}  // namespace ftvm::colo
