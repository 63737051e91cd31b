/* ringtest: sends `records` records of `size` payload bytes through the shared-memory ring,
 * ringing the doorbell once per `batch`, then waits until the VMM consumed them all.
 * Record i has type 1 and payload bytes (i + k) & 0xff preceded by the u64 sequence number i.
 * Args: records=1000 batch=64 size=56 */
#include "runtime.h"

static uint64_t align8(uint64_t n) { return (n + 7) & ~7ull; }

uint32_t ftvm_main(const struct ftvm_boot_info* bi, uint64_t cpu) {
  if (cpu != 0) {
    for (;;) cpu_relax();
  }
  struct ftvm_ring_header* ring = (struct ftvm_ring_header*)bi->ring_gpa;
  if (bi->ring_gpa == 0 || ring->magic != FTVM_RING_MAGIC) {
    serial_puts("ringtest: no ring device\n");
    return 3;
  }
  uint8_t* data = (uint8_t*)(bi->ring_gpa + FTVM_RING_DATA_OFFSET);
  const uint64_t records = arg_u64("records", 1000);
  const uint64_t batch = arg_u64("batch", 64);
  const uint64_t size = arg_u64("size", 56) < 8 ? 8 : arg_u64("size", 56);
  const uint64_t need = sizeof(struct ftvm_ring_record) + align8(size);
  const uint64_t cap = ring->data_size;
  uint64_t head = ring->head;
  uint64_t pending = 0;
  for (uint64_t i = 0; i < records; ++i) {
    const uint64_t at = head & (cap - 1);
    const uint64_t pad = (cap - at < need) ? cap - at : 0;
    while (head + pad + need - ring->tail > cap) {
      if (pending) outl(FTVM_PORT_RING_DOORBELL, (uint32_t)pending), pending = 0;
      cpu_relax();
    }
    if (pad) {
      struct ftvm_ring_record* p = (struct ftvm_ring_record*)(data + at);
      p->length = (uint32_t)(pad - sizeof(*p));
      p->type = FTVM_RING_TYPE_PAD;
      head += pad;
    }
    struct ftvm_ring_record* r = (struct ftvm_ring_record*)(data + (head & (cap - 1)));
    r->length = (uint32_t)size;
    r->type = 1;
    uint8_t* payload = (uint8_t*)(r + 1);
    *(uint64_t*)payload = i;
    for (uint64_t k = 8; k < size; ++k) payload[k] = (uint8_t)(i + k);
    head += need;
    __asm__ volatile("" ::: "memory"); /* x86 keeps stores in order; stop the compiler */
    ring->head = head;
    if (++pending == batch) outl(FTVM_PORT_RING_DOORBELL, (uint32_t)pending), pending = 0;
  }
  if (pending) outl(FTVM_PORT_RING_DOORBELL, (uint32_t)pending);
  while (inl(FTVM_PORT_RING_DOORBELL) != (uint32_t)records) cpu_relax();
  serial_printf("ringtest: %u records consumed\n", records);
  return 0;
}
