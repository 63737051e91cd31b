// The "ram" kill point needs to fire in the middle of ram/'s transfer, which colo/ does not
// drive write by write. WrapWithKillSwitch() puts a thin Channel decorator in front of the real
// channel that kills the process right after the first RDMA WRITE batch of the armed checkpoint
// was posted. Without a "ram" kill point it returns the channel unchanged (zero cost).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "colo/kill_point.h"
#include "rdma/channel.h"

namespace ftvm::colo {

// `checkpoint` points at the engine's current checkpoint number (read on each post).
std::unique_ptr<rdma::Channel> WrapWithKillSwitch(std::unique_ptr<rdma::Channel> channel,
                                                  const std::optional<KillPoint>& kill,
                                                  const uint64_t* checkpoint);

}  // namespace ftvm::colo
