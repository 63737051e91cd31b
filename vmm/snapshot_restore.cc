// RestoreSnapshot: validate everything in the file before trusting it, read RAM with
// io_uring straight into a fresh VM, verify the checksum, then load the CPU/device state.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>

#include "base/time.h"
#include "base/unique_fd.h"
#include "vmm/log.h"
#include "vmm/snapshot.h"
#include "vmm/snapshot_format.h"
#include "vmm/uring.h"

namespace ftvm::vmm {
namespace {

using namespace snapshot_format;  // NOLINT(google-build-using-namespace)

Result<std::vector<std::byte>> ReadAt(int fd, uint64_t offset, uint64_t size) {
  std::vector<std::byte> out(size);
  for (uint64_t done = 0; done < size;) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysFail("read snapshot at {}", offset + done);
    if (n == 0) return Fail(ErrorCode::kCorrupt, "snapshot truncated at {}", offset + done);
    done += static_cast<uint64_t>(n);
  }
  return out;
}

Result<std::vector<uint64_t>> ReadBitmap(int fd, const BlockEntry& b) {
  FTVM_ASSIGN_OR_RETURN(auto bytes, ReadAt(fd, b.bitmap_offset, b.bitmap_bytes()));
  std::vector<uint64_t> bits(bytes.size() / 8);
  std::memcpy(bits.data(), bytes.data(), bytes.size());
  uint64_t set = 0;
  for (uint64_t w : bits) set += static_cast<uint64_t>(std::popcount(w));
  const uint64_t tail = b.pages() % 64;
  if (set != b.stored_pages || (tail != 0 && (bits.back() >> tail) != 0)) {
    return Fail(ErrorCode::kCorrupt, "snapshot block {}: bitmap does not match its page count",
                b.name);
  }
  return bits;
}

// Reads every block's pages into `vm` and returns the checksum over what was read.
Result<uint64_t> ReadRam(int fd, const Header& h, std::span<const std::byte> state, Machine& vm) {
  FTVM_ASSIGN_OR_RETURN(Uring ring, Uring::Create(16));
  std::vector<std::vector<uint64_t>> bitmaps;
  for (size_t k = 0; k < h.blocks.size(); ++k) {
    const BlockEntry& e = h.blocks[k];
    const RamBlock* b = vm.memory().Find(e.name);
    if (b == nullptr || b->gpa() != e.gpa || b->size() != e.size) {
      return Fail(ErrorCode::kCorrupt, "snapshot block {} does not match the VM's memory", e.name);
    }
    FTVM_ASSIGN_OR_RETURN(bitmaps.emplace_back(), ReadBitmap(fd, e));
    uint64_t at = e.data_offset;
    FTVM_TRY(ForEachRun(bitmaps.back(), b->page_count(), [&](uint64_t first, uint64_t n) {
      // Populate the pages in one call instead of a page fault per 4 KiB during the copy
      // (advice only: older kernels lack it and the read then faults them in).
      (void)::madvise(b->hva() + first * kPageSize, n * kPageSize, MADV_POPULATE_WRITE);
      auto r = ring.Read(fd, {b->hva() + first * kPageSize, n * kPageSize}, at);
      at += n * kPageSize;
      return r;
    }));
  }
  FTVM_TRY(ring.Drain());
  Hasher hash;
  hash.Update(state);
  for (size_t k = 0; k < h.blocks.size(); ++k) {
    const RamBlock* b = vm.memory().Find(h.blocks[k].name);
    FTVM_TRY(ForEachRun(bitmaps[k], b->page_count(), [&](uint64_t first, uint64_t n) {
      hash.Update({b->hva() + first * kPageSize, n * kPageSize});
      return Result<void>();
    }));
    hash.Update(AsBytes(bitmaps[k]));
  }
  return hash.Digest();
}

}  // namespace

Result<std::unique_ptr<Machine>> RestoreSnapshot(const std::string& path,
                                                 const std::function<void(MachineConfig&)>& adjust,
                                                 SnapshotStats* stats) {
  const Stopwatch watch;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return SysFail("open snapshot {}", path);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return SysFail("stat {}", path);
  const auto file_bytes = static_cast<uint64_t>(st.st_size);
  if (file_bytes < kHeaderBytes) return Fail(ErrorCode::kCorrupt, "{}: too short", path);
  FTVM_ASSIGN_OR_RETURN(const auto page, ReadAt(fd.get(), 0, kHeaderBytes));
  FTVM_ASSIGN_OR_RETURN(const Header h, DecodeHeader(page, file_bytes));
  FTVM_ASSIGN_OR_RETURN(const auto state, ReadAt(fd.get(), kHeaderBytes, h.state_bytes));
  FTVM_ASSIGN_OR_RETURN(MachineConfig config, ConfigFromState(state));
  if (adjust) adjust(config);
  config.boot = false;
  FTVM_ASSIGN_OR_RETURN(auto vm, Machine::Create(config));
  FTVM_ASSIGN_OR_RETURN(const uint64_t sum, ReadRam(fd.get(), h, state, *vm));
  if (sum != h.checksum) return Fail(ErrorCode::kCorrupt, "{}: checksum mismatch", path);
  FTVM_TRY_CTX(vm->LoadState(state), path);
  if (stats != nullptr) {
    *stats = SnapshotStats{};
    stats->file_bytes = file_bytes;
    for (const BlockEntry& b : h.blocks) {
      stats->ram_bytes += b.size;
      stats->stored_pages += b.stored_pages;
      stats->zero_pages += b.pages() - b.stored_pages;
    }
    stats->elapsed_ns = watch.ElapsedNs();
  }
  Log().info("restored {} from {}", config.guest, path);
  return vm;
}

}  // namespace ftvm::vmm
