// The "control" logger (base/log.h).
#pragma once

#include "base/log.h"

namespace ftvm::control {
FTVM_DEFINE_LIBRARY_LOGGER(control)
}  // namespace ftvm::control
