// The vmm library's trace events (base/trace.h): enable with FTVM_TRACE='vmm_*' or --trace.
#pragma once

#include <cstdint>

#include "base/trace.h"

namespace ftvm::vmm {

FTVM_TRACE_EVENT(vmm_exit_io, "vcpu={} port={:#x} out={} size={} count={}", (uint32_t, vcpu),
                 (uint32_t, port), (int, out), (uint32_t, size), (uint32_t, count))
FTVM_TRACE_EVENT(vmm_exit_other, "vcpu={} reason={}", (uint32_t, vcpu), (uint32_t, reason))
FTVM_TRACE_EVENT(vmm_pause, "vcpus={} ns={}", (uint32_t, vcpus), (uint64_t, ns))
FTVM_TRACE_EVENT(vmm_resume, "vcpus={} ns={}", (uint32_t, vcpus), (uint64_t, ns))
FTVM_TRACE_EVENT(vmm_vcpu_park, "vcpu={}", (uint32_t, vcpu))
FTVM_TRACE_EVENT(vmm_dirty_harvest, "mode={} pages={} ns={}", (int, mode), (uint64_t, pages),
                 (uint64_t, ns))
FTVM_TRACE_EVENT(vmm_dirty_ring_full, "vcpu={} entries={}", (uint32_t, vcpu), (uint32_t, entries))
FTVM_TRACE_EVENT(vmm_state_save, "bytes={} ns={}", (uint64_t, bytes), (uint64_t, ns))
FTVM_TRACE_EVENT(vmm_state_load, "bytes={} ns={}", (uint64_t, bytes), (uint64_t, ns))
FTVM_TRACE_EVENT(vmm_guest_heartbeat, "seq={}", (uint32_t, seq))
FTVM_TRACE_EVENT(vmm_ring_doorbell, "records={} bytes={}", (uint64_t, records), (uint64_t, bytes))
FTVM_TRACE_EVENT(vmm_snapshot_write, "bytes={} pages={} zero_pages={} ns={}", (uint64_t, bytes),
                 (uint64_t, pages), (uint64_t, zero_pages), (uint64_t, ns))

}  // namespace ftvm::vmm
