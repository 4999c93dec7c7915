// The four AF_XDP rings as single-producer/single-consumer queues shared with
// the kernel. Producer rings (fill, TX) are used as reserve -> write -> submit;
// consumer rings (RX, completion) as peek -> read -> release. Both sides keep
// cached copies of the other side's index so the shared cache line is read
// only when the cached view runs out.
#pragma once
#include <linux/if_xdp.h>
#include <cstdint>

namespace wraith::xdp {

// Indices are free-running u32s; size is a power of two and mask = size - 1.
struct RingBase {
  uint32_t cachedProd = 0;
  uint32_t cachedCons = 0;
  uint32_t mask = 0;
  uint32_t size = 0;
  uint32_t* producer = nullptr;
  uint32_t* consumer = nullptr;
  uint32_t* flags = nullptr;
  void* ring = nullptr;
  void* map = nullptr;  // the mmap()ed area, for munmap
  size_t mapLen = 0;

  // Pairs with the kernel's smp_store_release of the index it owns: after
  // this load, the entries it covers are visible to us.
  static uint32_t LoadAcquire(const uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
  // Publishes our index only after our entry writes (or reads) are complete.
  static void StoreRelease(uint32_t* p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

  bool NeedsWakeup() const { return (__atomic_load_n(flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP) != 0; }
};

struct ProdRing : RingBase {
  // Free slots, at least `want` if possible. cachedCons is kept `size` ahead
  // of the real consumer so free = cachedCons - cachedProd.
  uint32_t Free(uint32_t want) {
    uint32_t free = cachedCons - cachedProd;
    if (free >= want) return free;
    cachedCons = LoadAcquire(consumer) + size;
    return cachedCons - cachedProd;
  }
  // Reserves exactly n slots starting at *idx, or none.
  uint32_t Reserve(uint32_t n, uint32_t* idx) {
    if (Free(n) < n) return 0;
    *idx = cachedProd;
    cachedProd += n;
    return n;
  }
  // Makes the n reserved entries visible to the kernel: entries first, then
  // the producer index (release).
  void Submit(uint32_t n) { StoreRelease(producer, *producer + n); }
  // Entries the kernel has not consumed yet (for TX: still queued).
  uint32_t Outstanding() const { return *producer - LoadAcquire(consumer); }

  uint64_t* Addr(uint32_t idx) { return &static_cast<uint64_t*>(ring)[idx & mask]; }
  struct xdp_desc* Desc(uint32_t idx) { return &static_cast<struct xdp_desc*>(ring)[idx & mask]; }
};

struct ConsRing : RingBase {
  // Entries ready, at most `max`; re-reads the producer index only when the
  // cached view is empty.
  uint32_t Available(uint32_t max) {
    uint32_t entries = cachedProd - cachedCons;
    if (entries == 0) {
      cachedProd = LoadAcquire(producer);
      entries = cachedProd - cachedCons;
    }
    return entries > max ? max : entries;
  }
  uint32_t Peek(uint32_t max, uint32_t* idx) {
    uint32_t n = Available(max);
    if (n > 0) {
      *idx = cachedCons;
      cachedCons += n;
    }
    return n;
  }
  // Returns n entries to the kernel once we have finished reading them.
  void Release(uint32_t n) { StoreRelease(consumer, *consumer + n); }

  const uint64_t* Addr(uint32_t idx) const { return &static_cast<const uint64_t*>(ring)[idx & mask]; }
  const struct xdp_desc* Desc(uint32_t idx) const { return &static_cast<const struct xdp_desc*>(ring)[idx & mask]; }
};

}  // namespace wraith::xdp
