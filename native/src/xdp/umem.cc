#include "xdp/umem.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace wraith::xdp {
namespace {

constexpr size_t kHugePage = 2u << 20;
constexpr int kMpolPreferred = 1;  // include/uapi/linux/mempolicy.h

}  // namespace

int Umem::Alloc(size_t bytes, bool wantHuge, int numaNode, std::string* where) {
  len = bytes;
  void* p = MAP_FAILED;
  if (wantHuge) {
    mapLen = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    p = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) note = std::string("huge pages unavailable (mmap MAP_HUGETLB: ") + std::strerror(errno) + "; set vm.nr_hugepages)";
  }
  if (p == MAP_FAILED) {
    mapLen = bytes;
    p = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      *where = "mmap(UMEM, " + std::to_string(mapLen) + " bytes)";
      return errno;
    }
  } else {
    hugePages = true;
  }
  base = static_cast<uint8_t*>(p);
  mapping = std::make_shared<UmemMapping>();
  mapping->base = p;
  mapping->len = mapLen;
  // Prefer the NIC's node before the pages are first touched; best effort.
  if (numaNode >= 0 && numaNode < 64) {
    unsigned long mask = 1UL << numaNode;
    if (syscall(SYS_mbind, base, mapLen, kMpolPreferred, &mask, 64, 0) != 0)
      note += (note.empty() ? "" : "; ") + std::string("mbind(node ") + std::to_string(numaNode) + "): " + std::strerror(errno);
  }
  // Touch every page now: registration pins them anyway, and first writes to
  // fresh memory are slow on this VM kind.
  std::memset(base, 0, mapLen);
  return 0;
}

UmemMapping::~UmemMapping() {
  if (base) munmap(base, len);
}

void Umem::Free() {
  mapping.reset();
  base = nullptr;
  len = mapLen = 0;
}

}  // namespace wraith::xdp
