/* dirtier: stamps pages of [start, start+size) with (generation, page index, checksum), at
 * `rate` pages per second (0 = as fast as it can), visiting them in order with a stride.
 * Generation g is the g-th full coverage of the range. With round_pages=N it stops after every
 * N pages, reports the round on FTVM_PORT_CTL_WORK_DONE and waits for mailbox.go >= round.
 * Args: start=FTVM_DATA_GPA size=(rest of RAM) rate=0 pages=0 (0 = forever) stride=1
 *       round_pages=0 stamp=1 (0: fill pages cheaply, for speed runs; not verifiable) */
#include "page_stamp.h"
#include "runtime.h"

struct walk {
  uint64_t first_page, pages, stride;
  uint64_t offset, pos, generation;
};

static void walk_next(struct walk* w) {
  w->pos += w->stride;
  if (w->pos < w->pages) return;
  w->offset = (w->offset + 1) % w->stride;
  if (w->offset == 0) ++w->generation;
  w->pos = w->offset;
}

static void write_page(uint64_t* words, uint64_t generation, uint64_t index, uint64_t stamp) {
  if (stamp) {
    FtvmStampPage(words, generation, index);
    return;
  }
  uint64_t n = FTVM_STAMP_WORDS;
  uint64_t* d = words;
  __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(generation) : "memory");
}

static void wait_for_go(uint64_t round) {
  while (mailbox()->go < round && !mailbox()->stop) cpu_relax();
}

uint32_t ftvm_main(const struct ftvm_boot_info* bi, uint64_t cpu) {
  if (cpu != 0) {
    for (;;) cpu_relax();
  }
  const uint64_t ram_end = bi->ram_gpa + bi->ram_size;
  const uint64_t start = arg_u64("start", bi->data_gpa) & ~(FTVM_PAGE_SIZE - 1);
  const uint64_t size = arg_u64("size", start < ram_end ? ram_end - start : 0);
  const uint64_t rate = arg_u64("rate", 0);
  const uint64_t limit = arg_u64("pages", 0);
  const uint64_t round_pages = arg_u64("round_pages", 0);
  const uint64_t stamp = arg_u64("stamp", 1);
  struct walk w = {start / FTVM_PAGE_SIZE, size / FTVM_PAGE_SIZE, arg_u64("stride", 1), 0, 0, 1};
  if (w.pages == 0 || w.stride == 0 || start < bi->data_gpa || start + size > ram_end) {
    serial_printf("dirtier: bad range start=%x size=%x\n", start, size);
    return 3;
  }
  const uint64_t ticks_per_page = rate ? tsc_per_ms() * 1000 / rate : 0;
  uint64_t due = rdtsc();
  uint64_t written = 0;
  uint64_t round = 0;
  status()->magic = FTVM_STATUS_MAGIC;
  for (;;) {
    if (ticks_per_page) {
      while (rdtsc() < due) cpu_relax();
      due += ticks_per_page;
    }
    const uint64_t index = w.first_page + w.pos;
    write_page((uint64_t*)(index * FTVM_PAGE_SIZE), w.generation, index, stamp);
    ++written;
    status()->generation = w.generation;
    status()->pages_written = written;
    walk_next(&w);
    if (limit != 0 && written >= limit) return 0;
    if (round_pages != 0 && written % round_pages == 0) {
      status()->round = ++round;
      outl(FTVM_PORT_CTL_WORK_DONE, (uint32_t)round);
      wait_for_go(round);
      if (mailbox()->stop) return 0;
      due = rdtsc();
    }
  }
}
