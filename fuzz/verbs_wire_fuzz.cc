// Fuzzes the verbs provider's decoders of peer-supplied bytes (rdma/verbs/protocol.h): the
// connection hello and reject (rdma_cm private data) and the header of every received message.
// Input: byte 0 selects the decoder (mod 3), the rest is what the peer sent. Whatever decodes
// must re-encode to an equivalent value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "rdma/verbs/protocol.h"

namespace ftvm::rdma::verbs {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzHello(std::span<const std::byte> bytes) {
  auto hello = DecodeHello(bytes);
  if (!hello) return;
  auto again = DecodeHello(EncodeHello(*hello));
  Check(again.has_value() && again->version == hello->version && again->caps == hello->caps &&
        again->recv_buffers == hello->recv_buffers && again->recv_credits == hello->recv_credits &&
        again->max_message_bytes == hello->max_message_bytes &&
        again->peer_timeout_ms == hello->peer_timeout_ms &&
        again->keepalive_ms == hello->keepalive_ms);
  Check(hello->recv_credits > 0 && hello->recv_buffers > hello->recv_credits);
}

void FuzzReject(std::span<const std::byte> bytes) {
  (void)RejectError(bytes, 28);
  auto reject = DecodeReject(bytes);
  if (!reject) return;
  auto again = DecodeReject(EncodeReject(*reject));
  Check(again.has_value() && again->reason == reject->reason && again->version == reject->version);
}

void FuzzHeader(std::span<const std::byte> bytes) {
  auto header = DecodeMessageHeader(bytes);
  if (!header) return;
  Check(bytes.size() >= kMessageHeaderBytes);
  Check(header->kind == MessageKind::kUser || bytes.size() == kMessageHeaderBytes);
  std::array<std::byte, kMessageHeaderBytes> out;
  EncodeMessageHeader(*header, out);
  auto again = DecodeMessageHeader(out);
  Check(again.has_value() && again->kind == header->kind && again->reposted == header->reposted);
}

}  // namespace
}  // namespace ftvm::rdma::verbs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      ftvm::rdma::verbs::FuzzHello(bytes);
      break;
    case 1:
      ftvm::rdma::verbs::FuzzReject(bytes);
      break;
    default:
      ftvm::rdma::verbs::FuzzHeader(bytes);
      break;
  }
  return 0;
}
