// The ibv_wc_status mapping table (wc_status.h).
#include "rdma/verbs/wc_status.h"

#include <infiniband/verbs.h>

#include <array>

namespace ftvm::rdma::verbs {
namespace {

using enum CompletionStatus;
#define FTVM_WC(value, status, error) \
  WcStatusEntry { value, #value, status, ErrorCode::error }

constexpr std::array kTable = {
    FTVM_WC(IBV_WC_SUCCESS, kSuccess, kInternal),
    FTVM_WC(IBV_WC_LOC_LEN_ERR, kProtocolError, kProtocol),  // a message longer than our buffer
    FTVM_WC(IBV_WC_LOC_QP_OP_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_LOC_EEC_OP_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_LOC_PROT_ERR, kLocalProtectionError, kInvalidArgument),
    FTVM_WC(IBV_WC_WR_FLUSH_ERR, kFlushed, kFlushed),
    FTVM_WC(IBV_WC_MW_BIND_ERR, kLocalProtectionError, kInvalidArgument),
    FTVM_WC(IBV_WC_BAD_RESP_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_LOC_ACCESS_ERR, kLocalProtectionError, kInvalidArgument),
    FTVM_WC(IBV_WC_REM_INV_REQ_ERR, kProtocolError, kProtocol),  // e.g. a send too long for the
                                                                 // peer's buffer
    FTVM_WC(IBV_WC_REM_ACCESS_ERR, kRemoteAccessError, kRemoteAccess),
    FTVM_WC(IBV_WC_REM_OP_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_RETRY_EXC_ERR, kPeerLost, kPeerLost),      // no ACK: the peer host is gone
    FTVM_WC(IBV_WC_RNR_RETRY_EXC_ERR, kPeerLost, kPeerLost),  // the peer stopped re-posting
    FTVM_WC(IBV_WC_LOC_RDD_VIOL_ERR, kLocalProtectionError, kInvalidArgument),
    FTVM_WC(IBV_WC_REM_INV_RD_REQ_ERR, kRemoteAccessError, kRemoteAccess),
    FTVM_WC(IBV_WC_REM_ABORT_ERR, kPeerLost, kPeerLost),
    FTVM_WC(IBV_WC_INV_EECN_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_INV_EEC_STATE_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_FATAL_ERR, kPeerLost, kPeerLost),  // the device failed: the connection is gone
    FTVM_WC(IBV_WC_RESP_TIMEOUT_ERR, kPeerLost, kPeerLost),
    FTVM_WC(IBV_WC_GENERAL_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_TM_ERR, kProtocolError, kProtocol),
    FTVM_WC(IBV_WC_TM_RNDV_INCOMPLETE, kProtocolError, kProtocol),
};
#undef FTVM_WC

constexpr bool IndexedByValue() {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (kTable[i].value != static_cast<int>(i)) return false;
  }
  return true;
}
static_assert(IndexedByValue(), "kTable must list every ibv_wc_status in value order");
static_assert(kTable.size() == IBV_WC_TM_RNDV_INCOMPLETE + 1, "a new ibv_wc_status needs a row");

const WcStatusEntry* Find(int wc_status) {
  if (wc_status < 0 || static_cast<size_t>(wc_status) >= kTable.size()) return nullptr;
  return &kTable[static_cast<size_t>(wc_status)];
}

}  // namespace

std::span<const WcStatusEntry> WcStatusTable() { return kTable; }

CompletionStatus MapWcStatus(int wc_status) {
  const WcStatusEntry* e = Find(wc_status);
  return e != nullptr ? e->status : CompletionStatus::kProtocolError;
}

ErrorCode WcStatusError(int wc_status) {
  const WcStatusEntry* e = Find(wc_status);
  return e != nullptr ? e->error : ErrorCode::kProtocol;
}

std::string WcStatusText(int wc_status) {
  if (Find(wc_status) == nullptr) return fmt::format("status {}", wc_status);
  return ibv_wc_status_str(static_cast<ibv_wc_status>(wc_status));
}

}  // namespace ftvm::rdma::verbs
