// The rdma library's logger ("rdma"). Info: connections made, lost and closed; never per write.
#pragma once

#include "base/log.h"

namespace ftvm::rdma {
FTVM_DEFINE_LIBRARY_LOGGER(rdma)
}  // namespace ftvm::rdma
