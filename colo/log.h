#pragma once

#include "base/log.h"

namespace ftvm::colo {
FTVM_DEFINE_LIBRARY_LOGGER(colo)
}  // namespace ftvm::colo
