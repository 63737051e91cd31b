/* counter: keeps one count in four places (r15, both halves of xmm15, a stack slot, a global)
 * and checks they agree every 1024 steps; sends a heartbeat (and prints one) every interval_ms.
 * Any state the VMM fails to save or restore shows up as a mismatch (exit code 2) or as a gap in
 * the heartbeat sequence. Built with -ffixed-r15 -ffixed-xmm15 so only the asm touches them.
 * Args: interval_ms=100 iterations=0 (0 = forever) quiet=0 crash=0 (1: execute ud2 at once,
 * to test how the VMM reports a dead guest) */
#include "runtime.h"

static volatile uint64_t memory_counter;

static inline void regs_init(void) {
  __asm__ volatile("xor %%r15d, %%r15d\n\tpxor %%xmm15, %%xmm15" ::: "memory");
}
static inline void regs_step(void) {
  __asm__ volatile(
      "inc %%r15\n\t"
      "pcmpeqd %%xmm14, %%xmm14\n\t" /* all ones: -1 in each quadword */
      "psubq %%xmm14, %%xmm15"
      :
      :
      : "xmm14");
}
static inline uint64_t reg_r15(void) {
  uint64_t v;
  __asm__ volatile("mov %%r15, %0" : "=r"(v));
  return v;
}
static inline uint64_t reg_xmm_low(void) {
  uint64_t v;
  __asm__ volatile("movq %%xmm15, %0" : "=r"(v));
  return v;
}
static inline uint64_t reg_xmm_high(void) {
  uint64_t v;
  __asm__ volatile("movhlps %%xmm15, %%xmm14\n\tmovq %%xmm14, %0" : "=r"(v) : : "xmm14");
  return v;
}

static void check(const char* what, uint64_t expected, uint64_t got) {
  if (expected == got) return;
  serial_printf("counter: MISMATCH %s expected %u got %u\n", what, expected, got);
  guest_exit(2);
}

uint32_t ftvm_main(const struct ftvm_boot_info* bi, uint64_t cpu) {
  if (cpu != 0) {
    for (;;) cpu_relax();
  }
  const uint64_t interval = arg_u64("interval_ms", 100) * tsc_per_ms();
  const uint64_t iterations = arg_u64("iterations", 0);
  const uint64_t max_beats = arg_u64("beats", 0);
  const uint32_t exit_code = (uint32_t)arg_u64("exit_code", 0);
  const uint64_t quiet = arg_u64("quiet", 0);
  if (arg_u64("crash", 0)) __builtin_trap();
  volatile uint64_t stack_counter = 0;
  uint64_t count = 0;
  uint64_t beats = 0;
  uint64_t next = rdtsc() + interval;
  regs_init();
  memory_counter = 0;
  status()->magic = FTVM_STATUS_MAGIC;
  if (!quiet)
    serial_printf("counter: start, %u vCPU(s), args '%s'\n", (uint64_t)bi->vcpu_count, bi->args);
  for (;;) {
    regs_step();
    ++stack_counter;
    ++memory_counter;
    ++count;
    if ((count & 1023) != 0) continue;
    check("r15", count, reg_r15());
    check("xmm15[0]", count, reg_xmm_low());
    check("xmm15[1]", count, reg_xmm_high());
    check("stack", count, stack_counter);
    check("memory", count, memory_counter);
    status()->counter = count;
    const uint64_t now = rdtsc();
    if (now >= next) {
      ++beats;
      status()->heartbeats = beats;
      outl(FTVM_PORT_CTL_HEARTBEAT, (uint32_t)beats);
      if (!quiet) serial_printf("counter: heartbeat %u count %u\n", beats, count);
      /* After a long pause start afresh rather than sending a burst of heartbeats. */
      next = (now - next > interval) ? now + interval : next + interval;
    }
    if ((iterations != 0 && count >= iterations) || (max_beats != 0 && beats >= max_beats)) {
      if (!quiet) serial_printf("counter: done after %u iterations\n", count);
      return exit_code;
    }
  }
}
