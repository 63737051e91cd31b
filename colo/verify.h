// Verify mode's whole-RAM check (--verify): ram/ hashes each checkpoint's dirty pages as they
// travel, which cannot notice a page that was never sent (a write the dirty log missed) or a
// page the secondary failed to restore from its cache. So in verify mode the primary also
// hashes all of guest RAM while the guest is paused for a checkpoint, sends the hash with the
// device state (vmstate-size), and the secondary hashes its own guest RAM after the commit:
// both must be equal at every checkpoint, or the secondary stops replicating (kCorrupt).
// Costs one pass over guest RAM on each side per checkpoint, inside the pause: for testing.
#pragma once

#include <cstdint>
#include <span>

#include "vmm/guest_memory.h"

namespace ftvm::colo {

// XXH3-64 of every block's bytes, blocks in order.
uint64_t HashGuestRam(std::span<const vmm::RamBlock> blocks);

}  // namespace ftvm::colo
