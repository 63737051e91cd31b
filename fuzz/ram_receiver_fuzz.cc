// libFuzzer target: the secondary's RamReceiver fed arbitrary message sequences.
//
// Input: a mode byte, then records [u16 length][bytes]; a zero-length record means "colo calls
// Commit()", 0xffff means "colo calls Discard()". The receiver starts after a valid block-table
// handshake (pin-all or on-demand). Invariant: guest memory changes only inside a Commit() that
// succeeds; nothing crashes, reads or writes out of bounds (ASan), or hangs.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "base/mapping.h"
#include "ram/receiver.h"
#include "ram/wire.h"
#include "tests/ram/loopback_channel.h"

namespace {

using namespace ftvm::ram;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kPages = 64;

struct Guest {
  ftvm::Mapping memory = *ftvm::Mapping::Anonymous((kPages + 16) * 4096);
  std::vector<RamBlock> blocks{{"pc.ram", memory.bytes().first(kPages * 4096), 0, 4096},
                               {"rom", memory.bytes().subspan(kPages * 4096), 1 << 30, 4096}};
};

std::vector<std::byte> Encoded(const Message& m) {
  std::vector<std::byte> out;
  Encode(m, &out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // RAM_FUZZ_LOG=1 keeps the receiver's log, e.g. to check what a seed reaches.
  if (std::getenv("RAM_FUZZ_LOG") == nullptr) (void)ftvm::SetLogLevels("off");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static Guest guest;
  std::memset(guest.memory.data(), 0xa5, guest.memory.size());
  std::vector<std::byte> snapshot(guest.memory.bytes().begin(), guest.memory.bytes().end());

  auto [primary, secondary] = testing::LoopbackChannel::CreatePair();
  const auto mode = (data[0] & 1) != 0 ? RegistrationMode::kOnDemand : RegistrationMode::kPinAll;
  const uint64_t budget = mode == RegistrationMode::kOnDemand ? 4 << 16 : 0;
  auto receiver = RamReceiver::Create(secondary.get(), guest.blocks, ReceiverOptions{budget});
  if (!receiver) std::abort();
  if (!(*receiver)->HandleMessage(Encoded(
          BlockTableRequest{mode, 16, (data[0] & 2) != 0, budget, DescribeAll(guest.blocks)}))) {
    std::abort();
  }
  size_t at = 1;
  while (at + 2 <= size) {
    uint16_t length;
    std::memcpy(&length, data + at, 2);
    at += 2;
    bool changed_by_commit = false;
    if (length == 0) {
      changed_by_commit = (*receiver)->Commit({}).has_value();
    } else if (length == 0xffff) {
      (*receiver)->Discard();
    } else {
      const size_t n = std::min<size_t>(length, size - at);
      (void)(*receiver)->HandleMessage({reinterpret_cast<const std::byte*>(data + at), n});
      at += n;
    }
    const bool same = std::memcmp(snapshot.data(), guest.memory.data(), snapshot.size()) == 0;
    if (!same && !changed_by_commit) std::abort();
    if (!same) std::memcpy(snapshot.data(), guest.memory.data(), snapshot.size());
  }
  return 0;
}
