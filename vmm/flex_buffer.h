// Storage for KVM's variable-length structs (kvm_msrs, kvm_cpuid2, kvm_msr_list, ...): a header
// followed by `n` entries, zeroed, in u64-aligned memory. Relies on kvm_headers.h having given
// the headers their C sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ftvm::vmm {

template <class Header, class Entry>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t n)
      : words_(new uint64_t[(sizeof(Header) + n * sizeof(Entry) + 7) / 8]()) {}
  Header* get() { return reinterpret_cast<Header*>(words_.get()); }
  const Header* get() const { return reinterpret_cast<const Header*>(words_.get()); }
  Header* operator->() { return get(); }

 private:
  std::unique_ptr<uint64_t[]> words_;  // new[] never yields null, unlike an empty vector
};

}  // namespace ftvm::vmm
