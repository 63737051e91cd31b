// The one place that includes <linux/kvm.h>. ci/check-layering.sh enforces it.
//
// Debian 12's linux-libc-dev (6.1) defines __DECLARE_FLEX_ARRAY as a struct holding an empty
// struct and a flexible array. An empty struct has size 1 in C++ (0 in C), so in C++ every
// struct ending in such a member grows, and every ioctl number encoded from its size
// (KVM_GET_MSRS, KVM_GET_XSAVE2, KVM_SET_CPUID2, ...) differs from the kernel's: the kernel
// answers EINVAL/ENOTTY. We redefine the macro as a plain zero-length array before the KVM
// headers see it, and pin the C sizes below so a future header change cannot bring it back.
#pragma once

#include <linux/stddef.h>

#undef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(TYPE, NAME) TYPE NAME[0]

#include <linux/kvm.h>

static_assert(sizeof(kvm_msrs) == 8, "kvm_msrs must have its C size (flex-array trap)");
static_assert(sizeof(kvm_msr_list) == 4, "kvm_msr_list must have its C size");
static_assert(sizeof(kvm_cpuid2) == 8, "kvm_cpuid2 must have its C size");
static_assert(sizeof(kvm_xsave) == 4096, "kvm_xsave must have its C size");
static_assert(sizeof(kvm_dirty_gfn) == 16, "kvm_dirty_gfn layout");
static_assert(sizeof(kvm_regs) == 144, "kvm_regs layout");
static_assert(sizeof(kvm_sregs) == 312, "kvm_sregs layout");
static_assert(KVM_GET_MSRS == 0xc008ae88, "KVM_GET_MSRS encodes the C size of kvm_msrs");
static_assert(KVM_GET_XSAVE2 == 0x9000aecf, "KVM_GET_XSAVE2 encodes the C size of kvm_xsave");
static_assert(KVM_SET_CPUID2 == 0x4008ae90, "KVM_SET_CPUID2 encodes the C size of kvm_cpuid2");
