// Helpers shared by the vmm tests.
#pragma once

#include <gtest/gtest.h>

#include "vmm/kvm.h"
#include "vmm/machine.h"

namespace ftvm::vmm::testing {

// Skips the test (with the reason) where /dev/kvm cannot be used.
#define FTVM_REQUIRE_KVM()                                                     \
  do {                                                                         \
    if (const std::string why = ::ftvm::vmm::Kvm::Unavailable(); !why.empty()) \
      GTEST_SKIP() << "no usable /dev/kvm: " << why;                           \
  } while (0)

// A small machine for tests: quiet serial (captured, not logged), 16 MiB RAM.
inline MachineConfig TestConfig(std::string guest, std::string args) {
  MachineConfig c;
  c.ram_bytes = 16ull << 20;
  c.guest = std::move(guest);
  c.guest_args = std::move(args);
  c.serial.to_log = false;
  return c;
}

}  // namespace ftvm::vmm::testing
