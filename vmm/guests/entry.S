/* Guest entry: the VMM sets RSP, RDI = boot info, RSI = vCPU index (docs/guest-abi.md).
 * Align the stack as the SysV ABI expects at a call, run ftvm_main, and report its return
 * value as the exit code. */
  .section .text.entry, "ax"
  .globl _start
_start:
  and $-16, %rsp
  call ftvm_main
  mov %eax, %eax
  mov $0x500, %dx
  out %eax, %dx
1:
  pause
  jmp 1b
  .section .note.GNU-stack, "", @progbits
