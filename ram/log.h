// The "ram" logger: state transitions and one summary per checkpoint (never per page).
#pragma once

#include "base/log.h"

namespace ftvm::ram {
FTVM_DEFINE_LIBRARY_LOGGER(ram)
}  // namespace ftvm::ram
