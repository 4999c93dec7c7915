// The UMEM: one anonymous mapping split into equal frames, optionally on
// 2 MiB huge pages and preferring the NIC's NUMA node.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace wraith::xdp {

// The mapping itself, shared with any ArrayBuffer lent to JS over it: the
// pages stay mapped until the socket and every such buffer are gone.
struct UmemMapping {
  void* base = nullptr;
  size_t len = 0;
  ~UmemMapping();
};

struct Umem {
  std::shared_ptr<UmemMapping> mapping;
  uint8_t* base = nullptr;
  size_t len = 0;        // bytes registered with the kernel (frames * frameSize)
  size_t mapLen = 0;     // bytes mapped (rounded up for huge pages)
  bool hugePages = false;
  std::string note;      // why huge pages or NUMA placement were not used

  // Returns 0 or an errno; *where names the failing call.
  int Alloc(size_t bytes, bool wantHuge, int numaNode, std::string* where);
  // Drops this socket's hold on the mapping (see UmemMapping).
  void Free();
};

}  // namespace wraith::xdp
