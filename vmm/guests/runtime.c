#include "runtime.h"

#include <stdarg.h>

void guest_exit(uint32_t code) {
  outl(FTVM_PORT_CTL_EXIT, code);
  for (;;) cpu_relax();
}

void serial_puts(const char* s) {
  while (*s) outb(FTVM_PORT_SERIAL, (uint8_t)*s++);
}

static void put_number(uint64_t v, unsigned base) {
  char buf[24];
  int n = 0;
  do {
    const unsigned digit = (unsigned)(v % base);
    buf[n++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
    v /= base;
  } while (v != 0);
  while (n > 0) outb(FTVM_PORT_SERIAL, (uint8_t)buf[--n]);
}

void serial_put_u64(uint64_t v) { put_number(v, 10); }

void serial_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (; *fmt; ++fmt) {
    if (*fmt != '%' || fmt[1] == 0) {
      outb(FTVM_PORT_SERIAL, (uint8_t)*fmt);
      continue;
    }
    ++fmt;
    if (*fmt == 's') serial_puts(va_arg(ap, const char*));
    if (*fmt == 'u') put_number(va_arg(ap, uint64_t), 10);
    if (*fmt == 'x') put_number(va_arg(ap, uint64_t), 16);
  }
  va_end(ap);
}

static int match_key(const char* p, const char* name) {
  while (*name && *p == *name) ++p, ++name;
  return *name == 0 && *p == '=';
}

uint64_t arg_u64(const char* name, uint64_t fallback) {
  const char* p = boot_info()->args;
  const char* end = p + FTVM_ARGS_MAX;
  while (p < end && *p) {
    while (*p == ' ') ++p;
    if (match_key(p, name)) {
      while (*p != '=') ++p;
      ++p;
      uint64_t v = 0;
      while (*p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
      if (*p == 'K' || *p == 'k') v <<= 10;
      if (*p == 'M' || *p == 'm') v <<= 20;
      if (*p == 'G' || *p == 'g') v <<= 30;
      return v;
    }
    while (p < end && *p && *p != ' ') ++p;
  }
  return fallback;
}

uint64_t tsc_per_ms(void) {
  const uint64_t khz = boot_info()->tsc_khz;
  return khz != 0 ? khz : 2000000;
}

/* The compiler may emit calls to these even in freestanding code. */
void* memset(void* dst, int c, size_t n) {
  void* d = dst;
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}

void* memcpy(void* dst, const void* src, size_t n) {
  void* d = dst;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}
