#include "tests/ram/tcp_util.h"

#include <future>

namespace ftvm::ram::testing {

Result<std::pair<std::unique_ptr<rdma::Channel>, std::unique_ptr<rdma::Channel>>> TcpPair(
    const rdma::ChannelOptions& options) {
  FTVM_ASSIGN_OR_RETURN(auto listener, rdma::Listen("tcp://127.0.0.1:0", options));
  auto connecting =
      std::async(std::launch::async, [&] { return rdma::Connect(listener->uri(), options); });
  auto accepted = listener->Accept(std::chrono::seconds(10));
  auto connected = connecting.get();
  FTVM_TRY(accepted);
  FTVM_TRY(connected);
  return std::make_pair(std::move(*connected), std::move(*accepted));
}

}  // namespace ftvm::ram::testing
