// How every verbs work-completion status (enum ibv_wc_status) maps onto the Channel's
// completion statuses and the sticky error of the channel (rdma/channel.h).
//
//   success                                   -> kSuccess
//   remote access / invalid RD request        -> kRemoteAccessError  (ErrorCode::kRemoteAccess)
//   local protection / access / MW bind / RDD -> kLocalProtectionError (kInvalidArgument)
//   retry or RNR retry exceeded, response
//   timeout, remote abort, fatal              -> kPeerLost           (kPeerLost)
//   flushed                                   -> kFlushed            (kFlushed)
//   everything else (length, invalid request,
//   remote operation, bad response, QP op...) -> kProtocolError      (kProtocol)
// This header does not include <infiniband/verbs.h>: statuses travel as int.
#pragma once

#include <span>
#include <string_view>

#include "base/result.h"
#include "rdma/channel.h"

namespace ftvm::rdma::verbs {

struct WcStatusEntry {
  int value;         // the ibv_wc_status value
  const char* name;  // its enumerator, e.g. "IBV_WC_REM_ACCESS_ERR"
  CompletionStatus status;
  ErrorCode error;  // the channel's sticky error when this status is its first failure
};

// One entry per ibv_wc_status enumerator, indexed by value.
std::span<const WcStatusEntry> WcStatusTable();

// Values outside the table (a newer library) map to kProtocolError / kProtocol.
CompletionStatus MapWcStatus(int wc_status);
ErrorCode WcStatusError(int wc_status);
// The library's text for the status ("remote access error"), or "status N".
std::string WcStatusText(int wc_status);

}  // namespace ftvm::rdma::verbs
