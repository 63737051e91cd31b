#include "colo/verify.h"

#include <xxhash.h>

#include <memory>

#include "base/check.h"

namespace ftvm::colo {

uint64_t HashGuestRam(std::span<const vmm::RamBlock> blocks) {
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                       &XXH3_freeState);
  FTVM_CHECK(state != nullptr, "XXH3_createState: out of memory");
  XXH3_64bits_reset(state.get());
  for (const vmm::RamBlock& b : blocks) {
    const std::span<const std::byte> bytes = b.bytes();
    XXH3_64bits_update(state.get(), bytes.data(), bytes.size());
  }
  return XXH3_64bits_digest(state.get());
}

}  // namespace ftvm::colo
