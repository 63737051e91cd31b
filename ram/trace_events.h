// Hot-path trace events of ram/ (off by default; enable with FTVM_TRACE='ram_*').
#pragma once

#include <cstdint>

#include "base/trace.h"

namespace ftvm::ram {

FTVM_TRACE_EVENT(ram_write_post, "block={} offset={:#x} len={} seq={}", (uint32_t, block),
                 (uint64_t, offset), (uint64_t, len), (uint64_t, seq))
FTVM_TRACE_EVENT(ram_zero_range, "block={} offset={:#x} len={}", (uint32_t, block),
                 (uint64_t, offset), (uint64_t, len))
FTVM_TRACE_EVENT(ram_register_request, "chunks={} pinned={}", (uint32_t, chunks),
                 (uint64_t, pinned_bytes))
FTVM_TRACE_EVENT(ram_register_result, "chunks={}", (uint32_t, chunks))
FTVM_TRACE_EVENT(ram_unregister, "block={} chunk={} pinned={}", (uint32_t, block),
                 (uint32_t, chunk), (uint64_t, pinned_bytes))
FTVM_TRACE_EVENT(ram_poll_wait, "in_flight={} pending_chunks={}", (uint64_t, in_flight),
                 (uint64_t, pending_chunks))
FTVM_TRACE_EVENT(ram_recv_message, "type={:#06x} bytes={}", (uint16_t, type), (uint64_t, bytes))
FTVM_TRACE_EVENT(ram_commit_run, "block={} page={} pages={}", (uint32_t, block), (uint64_t, page),
                 (uint64_t, pages))

}  // namespace ftvm::ram
