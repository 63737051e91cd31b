#include "ram/verify.h"

#include <xxhash.h>

#include "base/check.h"
#include "ram/dirty_bitmap.h"

namespace ftvm::ram {

struct PageHasher::State {
  XXH3_state_t* xxh = XXH3_createState();
  State() { FTVM_CHECK(xxh != nullptr, "XXH3_createState: out of memory"); }
  ~State() { XXH3_freeState(xxh); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

PageHasher::PageHasher() : state_(std::make_unique<State>()) { Reset(); }
PageHasher::~PageHasher() = default;
PageHasher::PageHasher(PageHasher&&) noexcept = default;
PageHasher& PageHasher::operator=(PageHasher&&) noexcept = default;

void PageHasher::Reset() { XXH3_64bits_reset(state_->xxh); }

void PageHasher::Update(std::span<const std::byte> bytes) {
  XXH3_64bits_update(state_->xxh, bytes.data(), bytes.size());
}

uint64_t PageHasher::Digest() const { return XXH3_64bits_digest(state_->xxh); }

uint64_t HashDirtyPages(std::span<const std::span<const std::byte>> memory,
                        std::span<const uint32_t> page_sizes,
                        std::span<const std::vector<uint64_t>> bitmaps) {
  PageHasher hasher;
  for (size_t b = 0; b < memory.size(); ++b) {
    const uint64_t page = page_sizes[b];
    // Runs are not split (the stream is the same either way): one update per contiguous run.
    ForEachDirtyRun(bitmaps[b], memory[b].size() / page, uint64_t{1} << 62, [&](PageRun run) {
      hasher.Update(memory[b].subspan(run.first_page * page, run.page_count * page));
    });
  }
  return hasher.Digest();
}

}  // namespace ftvm::ram
