// Fuzzes the state blob decoder and the machine config inside it. Each input is tried as is
// and with a valid checksum patched in, so the fuzzer gets past the checksum to the section
// parser. Nothing may crash, read out of bounds or allocate without bound.
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vmm/machine.h"
#include "vmm/vm_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> blob(size);
  if (size != 0) std::memcpy(blob.data(), data, size);
  (void)ftvm::vmm::VmState::Decode(blob);
  if (size >= 8) {
    const uint64_t sum = XXH3_64bits(blob.data(), size - 8);
    std::memcpy(blob.data() + size - 8, &sum, sizeof(sum));
    if (auto state = ftvm::vmm::VmState::Decode(blob)) {
      for (const auto& s : state->sections()) (void)state->GetStruct<uint64_t>(s.name);
      (void)ftvm::vmm::ConfigFromState(blob);
    }
  }
  return 0;
}
