// Trace events of the verbs provider (base/trace.h): hot-path detail, off by default.
#pragma once

#include <cstdint>

#include "base/trace.h"

namespace ftvm::rdma::verbs {

FTVM_TRACE_EVENT(rdma_verbs_register, "addr={:#x} len={} lkey={:#x} rkey={:#x}", (uint64_t, addr),
                 (uint64_t, len), (uint32_t, lkey), (uint32_t, rkey))
FTVM_TRACE_EVENT(rdma_verbs_post_writes, "first={} count={}", (uint64_t, first_request),
                 (uint32_t, count))
FTVM_TRACE_EVENT(rdma_verbs_post_send, "kind={} len={} reposted={}", (uint8_t, kind),
                 (uint32_t, len), (uint32_t, reposted))
FTVM_TRACE_EVENT(rdma_verbs_completion, "seq={} status={}", (uint64_t, seq), (uint8_t, status))
FTVM_TRACE_EVENT(rdma_verbs_keepalive, "reposted={}", (uint32_t, reposted))

}  // namespace ftvm::rdma::verbs
