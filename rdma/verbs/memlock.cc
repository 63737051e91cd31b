// Pinned-memory accounting (memlock.h).
#include "rdma/verbs/memlock.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "base/io.h"
#include "base/strings.h"

namespace ftvm::rdma::verbs {
namespace {

std::atomic<uint64_t> g_pinned_bytes{0};

// CAP_IPC_LOCK in the effective set (/proc/self/status "CapEff:", bit 14) lifts the limit.
bool HasIpcLock() {
  auto status = ReadFileToString("/proc/self/status");
  if (!status) return false;
  const size_t at = status->find("CapEff:");
  if (at == std::string::npos) return false;
  const uint64_t caps = std::strtoull(status->c_str() + at + 7, nullptr, 16);
  constexpr int kCapIpcLock = 14;
  return (caps >> kCapIpcLock) & 1;
}

}  // namespace

MemlockLimit CurrentMemlockLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return {};
  if (HasIpcLock()) return {};
  return MemlockLimit{.unlimited = false, .bytes = limit.rlim_cur};
}

Error MemlockError(uint64_t request_bytes, uint64_t pinned_bytes, uint64_t limit_bytes) {
  return Error(ErrorCode::kResourceExhausted,
               fmt::format("registering {} would pin {} in all, over this process's locked-memory "
                           "limit RLIMIT_MEMLOCK of {}. Raise it: `ulimit -l unlimited` in the "
                           "shell that starts ftvm, a memlock line in "
                           "/etc/security/limits.conf (e.g. `* - memlock unlimited`), or "
                           "LimitMEMLOCK=infinity in its systemd unit",
                           FormatBytes(request_bytes), FormatBytes(pinned_bytes + request_bytes),
                           FormatBytes(limit_bytes)));
}

Result<void> CheckMemlock(uint64_t request_bytes, uint64_t pinned_bytes,
                          const MemlockLimit& limit) {
  if (limit.unlimited || pinned_bytes + request_bytes <= limit.bytes) return {};
  return std::unexpected(MemlockError(request_bytes, pinned_bytes, limit.bytes));
}

uint64_t PinnedSize(std::span<const std::byte> memory) {
  if (memory.empty()) return 0;
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<uint64_t>(memory.data());
  const uint64_t first = start / page;
  const uint64_t last = (start + memory.size() - 1) / page;
  return (last - first + 1) * page;
}

Result<PinnedBytes> PinnedBytes::Reserve(std::span<const std::byte> memory) {
  const uint64_t bytes = PinnedSize(memory);
  const MemlockLimit limit = CurrentMemlockLimit();
  uint64_t pinned = g_pinned_bytes.load();
  do {
    FTVM_TRY(CheckMemlock(bytes, pinned, limit));
  } while (!g_pinned_bytes.compare_exchange_weak(pinned, pinned + bytes));
  return PinnedBytes(bytes);
}

PinnedBytes& PinnedBytes::operator=(PinnedBytes&& other) noexcept {
  if (this != &other) {
    Release();
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void PinnedBytes::Release() {
  if (bytes_ != 0) g_pinned_bytes.fetch_sub(std::exchange(bytes_, 0));
}

uint64_t PinnedBytes::InUse() { return g_pinned_bytes.load(); }

}  // namespace ftvm::rdma::verbs
