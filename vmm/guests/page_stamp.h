/* The dirtier's page stamp, shared by the guest (which writes it) and the host-side verifier.
 * A stamped page is 512 little-endian u64 words:
 *   [0] FTVM_STAMP_MAGIC  [1] generation  [2] page index (GPA / 4096)  [3] checksum
 *   [4..511] FtvmStampWord(generation, index, i)
 * checksum = FtvmStampChecksum over words 0..2 and 4..511. A replica is correct when every
 * stamped page has the right index for where it sits and a matching checksum. */
#ifndef FTVM_VMM_GUESTS_PAGE_STAMP_H_
#define FTVM_VMM_GUESTS_PAGE_STAMP_H_

#include <stdint.h>

#define FTVM_STAMP_MAGIC 0x504d415453565446ull /* "FTVSTAMP" */
#define FTVM_STAMP_WORDS 512u

static inline uint64_t FtvmStampMix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

static inline uint64_t FtvmStampWord(uint64_t generation, uint64_t index, uint64_t i) {
  return FtvmStampMix((generation << 40) ^ (index << 9) ^ i);
}

/* A position-dependent sum, so swapped or shifted words are caught too. */
static inline uint64_t FtvmStampChecksum(const uint64_t* words) {
  uint64_t sum = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < FTVM_STAMP_WORDS; ++i) {
    if (i == 3) continue;
    sum = (sum ^ words[i]) * 0x100000001b3ull + i;
  }
  return sum;
}

static inline void FtvmStampPage(uint64_t* words, uint64_t generation, uint64_t index) {
  words[0] = FTVM_STAMP_MAGIC;
  words[1] = generation;
  words[2] = index;
  for (uint32_t i = 4; i < FTVM_STAMP_WORDS; ++i) words[i] = FtvmStampWord(generation, index, i);
  words[3] = FtvmStampChecksum(words);
}

#endif /* FTVM_VMM_GUESTS_PAGE_STAMP_H_ */
