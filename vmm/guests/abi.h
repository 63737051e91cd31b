/* The guest ABI shared by the VMM (C++) and the built-in guests (freestanding C).
 * docs/guest-abi.md explains it; this header is the single source of its numbers.
 *
 * Guests run in 64-bit long mode at CPL3 with identity-mapped page tables (2 MiB pages, U bit
 * set) that cover every RAM block. They talk to the VMM with port I/O only and never take
 * interrupts (they poll). At entry: RIP = FTVM_IMAGE_GPA, RSP = the vCPU's stack top,
 * RDI = FTVM_BOOT_INFO_GPA, RSI = vCPU index, RFLAGS = 0x3002 (IOPL 3, IF clear).
 * Port I/O at CPL3 is allowed twice over: by IOPL 3 and by the TSS I/O bitmap (all ports
 * open). Hosts that run CPL3 code under an emulator for I/O (PVM) drop IOPL and consult the
 * bitmap instead. */
#ifndef FTVM_VMM_GUESTS_ABI_H_
#define FTVM_VMM_GUESTS_ABI_H_

#include <stdint.h>

#define FTVM_ABI_VERSION 1u
#define FTVM_BOOT_MAGIC 0x314f4f424d565446ull /* "FTVMBOO1" */

/* Guest physical layout of the first 2 MiB (the "sys" part of the RAM block at GPA 0). */
#define FTVM_PAGE_SIZE 4096ull
#define FTVM_GDT_GPA 0x1000ull
#define FTVM_BOOT_INFO_GPA 0x3000ull /* struct ftvm_boot_info, written by the VMM */
#define FTVM_MAILBOX_GPA 0x4000ull   /* struct ftvm_mailbox: the VMM writes, the guest polls */
#define FTVM_STATUS_GPA 0x5000ull    /* struct ftvm_status: the guest writes, the VMM reads */
#define FTVM_TSS_GPA 0x6000ull       /* 64-bit TSS + an all-zero I/O bitmap (8 KiB + 1) to 0x8069 */
#define FTVM_PML4_GPA 0x10000ull     /* then the PDPT, then one page directory per GiB */
#define FTVM_PAGE_TABLE_END 0x90000ull
#define FTVM_IMAGE_GPA 0x100000ull /* flat image; its first byte is the entry point */
#define FTVM_STACK_SIZE 0x10000ull
#define FTVM_MAX_VCPUS 4u
#define FTVM_STACK_TOP_GPA 0x200000ull /* vCPU i: FTVM_STACK_TOP_GPA - i * FTVM_STACK_SIZE */
#define FTVM_IMAGE_MAX_BYTES \
  (FTVM_STACK_TOP_GPA - FTVM_MAX_VCPUS * FTVM_STACK_SIZE - FTVM_IMAGE_GPA)
#define FTVM_DATA_GPA 0x200000ull /* the first byte the guest may use freely */

/* Segment selectors the VMM loads (the same as Linux's user selectors). */
#define FTVM_SEL_USER_DS 0x2b
#define FTVM_SEL_USER_CS 0x33
#define FTVM_SEL_TSS 0x38

/* Ports. OUT/IN of 32 bits unless stated. */
#define FTVM_PORT_SERIAL 0x3f8        /* 16550-style UART, 8 ports; write bytes to THR */
#define FTVM_PORT_CTL_EXIT 0x500      /* out: exit code; the VM stops */
#define FTVM_PORT_CTL_HEARTBEAT 0x504 /* out: heartbeat sequence number */
#define FTVM_PORT_CTL_WORK_DONE 0x508 /* out: units of work completed (e.g. a round) */
#define FTVM_PORT_CTL_ABI 0x50c       /* in: FTVM_ABI_VERSION */
#define FTVM_PORT_RING_DOORBELL 0x510 /* out: "records are ready"; in: records consumed */

#define FTVM_ARGS_MAX 256

struct ftvm_boot_info {
  uint64_t magic; /* FTVM_BOOT_MAGIC */
  uint32_t abi_version;
  uint32_t vcpu_count;
  uint64_t ram_gpa; /* the main RAM block */
  uint64_t ram_size;
  uint64_t data_gpa; /* first free byte (FTVM_DATA_GPA) */
  uint64_t tsc_khz;  /* guest TSC frequency, 0 if unknown */
  uint64_t ring_gpa; /* shared-memory ring block (0 if none) */
  uint64_t ring_size;
  char args[FTVM_ARGS_MAX]; /* "key=value key=value", NUL-terminated */
};

/* The VMM writes the mailbox (guests poll it) with Machine::WriteGuest, which reports the write
   to the dirty log: KVM logs only the guest's own writes. */
struct ftvm_mailbox {
  volatile uint64_t go;   /* dirtier rounds: the round the guest may start */
  volatile uint64_t stop; /* non-zero: finish and exit */
};

/* Written by the guests; read by the VMM and tests. */
#define FTVM_STATUS_MAGIC 0x5441545354565446ull /* "FTVSTATS"... */
struct ftvm_status {
  volatile uint64_t magic;
  volatile uint64_t generation;    /* dirtier: the sweep being written (from 1) */
  volatile uint64_t pages_written; /* dirtier: total page stamps written */
  volatile uint64_t counter;       /* counter: iterations so far */
  volatile uint64_t heartbeats;
  volatile uint64_t round; /* dirtier: rounds completed */
};

/* Shared-memory ring (the "ring" RAM block): a header page, then a data area of data_size
 * bytes (a power of two). Records are 8-byte aligned {u32 length, u32 type, payload} and never
 * wrap: a record that does not fit before the end is preceded by a padding record (type 0)
 * that fills the rest. head/tail count bytes since the start and only grow. */
#define FTVM_RING_MAGIC 0x474e4952u /* "RING" */
#define FTVM_RING_DATA_OFFSET 4096ull
#define FTVM_RING_TYPE_PAD 0u
struct ftvm_ring_header {
  uint32_t magic;
  uint32_t data_size;
  volatile uint64_t head; /* guest: bytes produced */
  volatile uint64_t tail; /* VMM: bytes consumed */
  volatile uint64_t records_consumed;
};
struct ftvm_ring_record {
  uint32_t length; /* payload bytes */
  uint32_t type;
};

#endif /* FTVM_VMM_GUESTS_ABI_H_ */
