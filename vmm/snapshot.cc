#include "vmm/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <bit>
#include <cstring>

#include "base/time.h"
#include "base/unique_fd.h"
#include "base/wire.h"
#include "vmm/log.h"
#include "vmm/snapshot_format.h"
#include "vmm/trace_events.h"
#include "vmm/uring.h"

namespace ftvm::vmm {
namespace {

using namespace snapshot_format;  // NOLINT(google-build-using-namespace)

// Calls fn(first_page, end_page) for each range of the block's memfd that holds data. Pages
// the guest never touched are holes: skipping them avoids reading (and so allocating) them.
template <class Fn>
Result<void> ForEachDataRange(const RamBlock& b, Fn&& fn) {
  uint64_t at = 0;
  while (at < b.size()) {
    const off_t data = ::lseek(b.memfd(), static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only holes from here on
    if (data < 0) return SysFail("lseek SEEK_DATA in {}", b.name());
    const off_t hole = ::lseek(b.memfd(), data, SEEK_HOLE);
    if (hole < 0) return SysFail("lseek SEEK_HOLE in {}", b.name());
    const uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), b.size());
    fn(static_cast<uint64_t>(data) / kPageSize, (end + kPageSize - 1) / kPageSize);
    at = end;
  }
  return {};
}

Result<void> SyncPath(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return SysFail("fsync directory {}", dir);
  return {};
}

}  // namespace

Result<SnapshotStats> WriteSnapshot(Machine& vm, const std::string& path,
                                    const SnapshotOptions& options) {
  const Stopwatch watch;
  FTVM_ASSIGN_OR_RETURN(const auto state, vm.SaveState());
  // Pass 1: which pages are worth storing, and so where everything goes.
  std::vector<BlockEntry> blocks;
  std::vector<std::vector<uint64_t>> present;
  uint64_t offset = AlignUp(kHeaderBytes + state.size());
  for (const RamBlock& b : vm.ram_blocks()) {
    BlockEntry& e = blocks.emplace_back(BlockEntry{b.name(), b.gpa(), b.size()});
    auto& bits = present.emplace_back(BitmapWords(b.page_count()), 0);
    FTVM_TRY(ForEachDataRange(b, [&](uint64_t first, uint64_t end) {
      for (uint64_t i = first; i < end; ++i) {
        if (!PageIsZero(b.hva() + i * kPageSize)) {
          bits[i / 64] |= 1ull << (i % 64);
          ++e.stored_pages;
        }
      }
    }));
    e.bitmap_offset = offset;
    e.data_offset = AlignUp(offset + e.bitmap_bytes());
    offset = e.data_offset + e.stored_pages * kPageSize;
  }
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return SysFail("create {}", tmp);
  FTVM_ASSIGN_OR_RETURN(Uring ring, Uring::Create(options.queue_depth));
  // Pass 2: hash each run and queue its write straight from guest memory.
  Hasher hash;
  hash.Update(state);
  FTVM_TRY(ring.Write(fd.get(), state, kHeaderBytes));
  SnapshotStats stats;
  for (size_t k = 0; k < blocks.size(); ++k) {
    const RamBlock& b = vm.ram_blocks()[k];
    uint64_t at = blocks[k].data_offset;
    FTVM_TRY(ForEachRun(present[k], b.page_count(), [&](uint64_t first, uint64_t n) {
      const std::span<const std::byte> run(b.hva() + first * kPageSize, n * kPageSize);
      hash.Update(run);
      auto r = ring.Write(fd.get(), run, at);
      at += run.size();
      return r;
    }));
    hash.Update(AsBytes(present[k]));
    FTVM_TRY(ring.Write(fd.get(), AsBytes(present[k]), blocks[k].bitmap_offset));
    stats.stored_pages += blocks[k].stored_pages;
    stats.zero_pages += b.page_count() - blocks[k].stored_pages;
    stats.ram_bytes += b.size();
  }
  const auto header = EncodeHeader(state.size(), hash.Digest(), blocks);
  FTVM_TRY(ring.Write(fd.get(), header, 0));
  FTVM_TRY_CTX(ring.Drain(), "write " + tmp);
  if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0) return SysFail("truncate {}", tmp);
  if (options.fsync && ::fsync(fd.get()) != 0) return SysFail("fsync {}", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return SysFail("rename {} to {}", tmp, path);
  if (options.fsync) {
    const auto slash = path.rfind('/');
    FTVM_TRY(SyncPath(slash == std::string::npos ? "." : path.substr(0, slash + 1)));
  }
  stats.file_bytes = offset;
  stats.elapsed_ns = watch.ElapsedNs();
  trace_vmm_snapshot_write(stats.file_bytes, stats.stored_pages, stats.zero_pages,
                           stats.elapsed_ns);
  return stats;
}

}  // namespace ftvm::vmm
