// Snapshots: a paused Machine's state blob and RAM in one file, written with io_uring; pages
// that are all zero are not stored; an XXH3 checksum over everything stored is verified on
// restore before the restored VM is handed out.
//
// File layout (little-endian; every region starts on a 4 KiB boundary):
//   header page: u64 magic "FTVMSNAP", u32 version, u32 block count, u64 state bytes,
//                u64 checksum, then per block: u16 name length, name, u64 gpa, u64 size,
//                u64 stored pages, u64 bitmap offset, u64 data offset;
//                last 8 bytes of the page: XXH3 of the bytes before them
//   state blob (vm_state.h)
//   per block: its present-page bitmap (ftvm's bitmap format: bit set = page stored),
//              then the stored pages, in page order
// checksum = XXH3 over: state blob, then per block: its stored pages in order, its bitmap.
//
// Restore validates the header, every offset and length against the file size, the bitmaps'
// page counts and the checksum; any mismatch is kCorrupt and no Machine is returned.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "vmm/machine.h"

namespace ftvm::vmm {

struct SnapshotStats {
  uint64_t file_bytes = 0;
  uint64_t ram_bytes = 0;
  uint64_t stored_pages = 0;
  uint64_t zero_pages = 0;
  uint64_t elapsed_ns = 0;
};

struct SnapshotOptions {
  bool fsync = false;         // make it durable before returning
  unsigned queue_depth = 16;  // io_uring operations in flight
};

// Writes `vm` (which must be paused) to `path`, replacing it. The file appears complete or
// not at all (written to path + ".tmp", then renamed).
Result<SnapshotStats> WriteSnapshot(Machine& vm, const std::string& path,
                                    const SnapshotOptions& options = {});

// Creates a Machine from the snapshot at `path` (paused; Resume() to continue). `adjust` may
// change local settings of the config read from the file (serial output, dirty mode, ...).
Result<std::unique_ptr<Machine>> RestoreSnapshot(
    const std::string& path, const std::function<void(MachineConfig&)>& adjust = {},
    SnapshotStats* stats = nullptr);

}  // namespace ftvm::vmm
