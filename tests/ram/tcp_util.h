// tcp:// helpers for ram/ end-to-end tests.
#pragma once

#include <memory>
#include <utility>

#include "base/result.h"
#include "rdma/channel.h"

namespace ftvm::ram::testing {

// A connected pair over tcp://127.0.0.1 (first: the connecting side, second: the accepted one).
Result<std::pair<std::unique_ptr<rdma::Channel>, std::unique_ptr<rdma::Channel>>> TcpPair(
    const rdma::ChannelOptions& options);

}  // namespace ftvm::ram::testing
