// The UMEM: one anonymous mapping split into equal frames, optionally on
// 2 MiB huge pages and preferring the NIC's NUMA node.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace wraith::xdp {

struct Umem {
  uint8_t* base = nullptr;
  size_t len = 0;        // bytes registered with the kernel (frames * frameSize)
  size_t mapLen = 0;     // bytes mapped (rounded up for huge pages)
  bool hugePages = false;
  std::string note;      // why huge pages or NUMA placement were not used

  // Returns 0 or an errno; *where names the failing call.
  int Alloc(size_t bytes, bool wantHuge, int numaNode, std::string* where);
  void Free();
};

}  // namespace wraith::xdp
