// colo/ trace events. The downtime checkpoints follow QEMU's vmstate_downtime_checkpoint:
// on the primary (src) downtime-start, vm-stopped, ram-saved, device-saved, downtime-end; on
// the secondary (dst) request-received, ram-received, cache-flushed, device-loaded, resumed.
// Each carries the checkpoint number and nanoseconds since that checkpoint began.
#pragma once

#include <cstdint>

#include "base/trace.h"

namespace ftvm::colo {

FTVM_TRACE_EVENT(colo_src_downtime_start, "checkpoint={}", (uint64_t, checkpoint))
FTVM_TRACE_EVENT(colo_src_vm_stopped, "checkpoint={} t={}ns", (uint64_t, checkpoint),
                 (uint64_t, ns))
FTVM_TRACE_EVENT(colo_src_ram_saved, "checkpoint={} t={}ns pages={}", (uint64_t, checkpoint),
                 (uint64_t, ns), (uint64_t, pages))
// Staging: dirty pages copied into the mirror inside the pause (captured) or, with
// precapture_ms, while the guest runs before checkpoint `checkpoint` (precapture).
FTVM_TRACE_EVENT(colo_src_captured, "checkpoint={} copy={}ns pages={}", (uint64_t, checkpoint),
                 (uint64_t, ns), (uint64_t, pages))
FTVM_TRACE_EVENT(colo_src_precapture, "checkpoint={} copy={}ns pages={}", (uint64_t, checkpoint),
                 (uint64_t, ns), (uint64_t, pages))
FTVM_TRACE_EVENT(colo_src_device_saved, "checkpoint={} t={}ns bytes={}", (uint64_t, checkpoint),
                 (uint64_t, ns), (uint64_t, bytes))
FTVM_TRACE_EVENT(colo_src_downtime_end, "checkpoint={} t={}ns downtime={}ns",
                 (uint64_t, checkpoint), (uint64_t, ns), (uint64_t, downtime_ns))
FTVM_TRACE_EVENT(colo_dst_request_received, "checkpoint={}", (uint64_t, checkpoint))
FTVM_TRACE_EVENT(colo_dst_ram_received, "checkpoint={} t={}ns", (uint64_t, checkpoint),
                 (uint64_t, ns))
FTVM_TRACE_EVENT(colo_dst_cache_flushed, "checkpoint={} t={}ns pages={}", (uint64_t, checkpoint),
                 (uint64_t, ns), (uint64_t, pages))
FTVM_TRACE_EVENT(colo_dst_device_loaded, "checkpoint={} t={}ns bytes={}", (uint64_t, checkpoint),
                 (uint64_t, ns), (uint64_t, bytes))
FTVM_TRACE_EVENT(colo_dst_resumed, "checkpoint={} t={}ns", (uint64_t, checkpoint), (uint64_t, ns))
FTVM_TRACE_EVENT(colo_message_send, "type={:#06x} bytes={}", (uint16_t, type), (uint64_t, bytes))
FTVM_TRACE_EVENT(colo_message_recv, "type={:#06x} bytes={}", (uint16_t, type), (uint64_t, bytes))
FTVM_TRACE_EVENT(colo_heartbeat_send, "seq={}", (uint64_t, seq))
FTVM_TRACE_EVENT(colo_state_change, "status={} failover={}", (const char*, status),
                 (const char*, failover))

}  // namespace ftvm::colo
