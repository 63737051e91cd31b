// Trace events of the rdma library (see base/trace.h). Enable with FTVM_TRACE='rdma_*' or
// `--trace`; attach with perf/bpftrace to the USDT probes ftvm:rdma_*.
// Provider-neutral events first, then provider-specific ones (rdma_tcp_*).
#pragma once

#include <cstdint>

#include "base/trace.h"

namespace ftvm::rdma {

FTVM_TRACE_EVENT(rdma_register, "len={} addr={:#x} lkey={:#x} rkey={:#x} access={:#x}",
                 (uint64_t, len), (uint64_t, addr), (uint32_t, lkey), (uint32_t, rkey),
                 (uint32_t, access))
FTVM_TRACE_EVENT(rdma_deregister, "lkey={:#x} rkey={:#x} len={}", (uint32_t, lkey),
                 (uint32_t, rkey), (uint64_t, len))
FTVM_TRACE_EVENT(rdma_write_post, "wr={} remote_addr={:#x} len={} rkey={:#x} signaled={}",
                 (uint64_t, wr_id), (uint64_t, remote_addr), (uint32_t, len), (uint32_t, rkey),
                 (bool, signaled))
FTVM_TRACE_EVENT(rdma_send, "wr={} len={} signaled={}", (uint64_t, wr_id), (uint32_t, len),
                 (bool, signaled))
FTVM_TRACE_EVENT(rdma_recv, "len={}", (uint32_t, len))
// opcode: 0 write, 1 send, 2 recv; status: CompletionStatus.
FTVM_TRACE_EVENT(rdma_completion, "wr={} opcode={} status={}", (uint64_t, wr_id),
                 (uint32_t, opcode), (uint32_t, status))
FTVM_TRACE_EVENT(rdma_poll, "returned={}", (uint32_t, returned))
// code: ErrorCode of the sticky error that moved the channel out of kConnected.
FTVM_TRACE_EVENT(rdma_error, "code={} errno={}", (uint32_t, code), (int, sys_errno))
FTVM_TRACE_EVENT(rdma_keepalive, "stream={}", (uint32_t, stream))
FTVM_TRACE_EVENT(rdma_peer_silent, "stream={} silent_ms={}", (uint32_t, stream),
                 (uint64_t, silent_ms))
FTVM_TRACE_EVENT(rdma_connect, "port={} streams={}", (uint32_t, port), (uint32_t, streams))
FTVM_TRACE_EVENT(rdma_accept, "connection={:#x} streams={}", (uint64_t, connection_id),
                 (uint32_t, streams))

// tcp provider: frames on the wire (type: rdma/tcp/frame.h FrameType).
FTVM_TRACE_EVENT(rdma_tcp_frame_rx, "stream={} type={} seq={} count={} body={}", (uint32_t, stream),
                 (uint32_t, type), (uint64_t, seq), (uint32_t, count), (uint32_t, body))
FTVM_TRACE_EVENT(rdma_tcp_tx_batch, "stream={} frames={} bytes={}", (uint32_t, stream),
                 (uint32_t, frames), (uint64_t, bytes))
FTVM_TRACE_EVENT(rdma_tcp_ack, "watermark={} consumed={}", (uint64_t, watermark),
                 (uint64_t, consumed))
FTVM_TRACE_EVENT(rdma_tcp_nak, "seq={} reason={}", (uint64_t, seq), (uint32_t, reason))
FTVM_TRACE_EVENT(rdma_tcp_credit_stall, "queued={}", (uint32_t, queued))

}  // namespace ftvm::rdma
