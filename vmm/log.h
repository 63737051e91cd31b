// The vmm library's logger: `Log().info(...)` inside namespace ftvm::vmm.
#pragma once

#include "base/log.h"

namespace ftvm::vmm {
FTVM_DEFINE_LIBRARY_LOGGER(vmm)
}  // namespace ftvm::vmm
