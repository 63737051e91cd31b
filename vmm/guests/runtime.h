/* A tiny freestanding runtime for the built-in guests: port I/O, serial output, arguments,
 * time from the TSC. Everything runs at CPL3 and polls; there are no interrupts. */
#ifndef FTVM_VMM_GUESTS_RUNTIME_H_
#define FTVM_VMM_GUESTS_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

static inline void outl(uint16_t port, uint32_t value) {
  __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
static inline void outb(uint16_t port, uint8_t value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}
static inline uint32_t inl(uint16_t port) {
  uint32_t value;
  __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}
static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline const struct ftvm_boot_info* boot_info(void) {
  return (const struct ftvm_boot_info*)FTVM_BOOT_INFO_GPA;
}
static inline struct ftvm_mailbox* mailbox(void) { return (struct ftvm_mailbox*)FTVM_MAILBOX_GPA; }
static inline struct ftvm_status* status(void) { return (struct ftvm_status*)FTVM_STATUS_GPA; }

void guest_exit(uint32_t code) __attribute__((noreturn));
void serial_puts(const char* s);
void serial_put_u64(uint64_t v);
/* printf-like with %s, %u (u64) and %x (u64 hex) only. */
void serial_printf(const char* fmt, ...);

/* The value of "name=NUMBER" in the boot arguments (K/M/G suffixes allowed), or `fallback`. */
uint64_t arg_u64(const char* name, uint64_t fallback);

/* TSC ticks per millisecond (from the boot info; a guess if the VMM did not know). */
uint64_t tsc_per_ms(void);

void* memset(void* dst, int c, size_t n);
void* memcpy(void* dst, const void* src, size_t n);

#endif /* FTVM_VMM_GUESTS_RUNTIME_H_ */
