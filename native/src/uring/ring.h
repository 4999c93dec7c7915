// A minimal io_uring over raw syscalls, in the liburing shape: Reserve() SQEs,
// fill them, Submit() publishes the batch with one io_uring_enter; Peek()
// completions, then Release() them. No Node-API here: binding.cc wraps it.
// Not thread-safe: one ring belongs to one thread (the JS thread).
#pragma once
#include <cstdint>
#include <string>
#include "uring/uapi.h"

namespace wraith::uring {

class Ring {
 public:
  Ring() = default;
  ~Ring() { Destroy(); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Creates the ring (SQ of sq_entries, CQ of cq_entries, both powers of two).
  // Returns 0, or an errno with *what naming the failing call; a failure
  // undoes whatever was set up before it.
  int Init(unsigned sq_entries, unsigned cq_entries, std::string* what);
  // Unmaps and closes everything Init created; safe on a partial init.
  void Destroy();

  int fd() const { return fd_; }
  unsigned sq_entries() const { return sq_entries_; }
  unsigned cq_entries() const { return cq_entries_; }
  uint32_t features() const { return features_; }
  uint32_t setup_flags() const { return setup_flags_; }

  // --- submission ---
  // The next free SQE (zeroed), or nullptr when the SQ is full.
  io_uring_sqe* Reserve();
  // SQEs reserved and not yet consumed by the kernel.
  unsigned Pending() const;
  // Publishes every reserved SQE and enters the kernel once. Returns how many
  // the kernel consumed, or -errno. EINTR is retried.
  int Submit();
  // Takes back the SQEs the kernel did not consume (after Submit() failed or
  // consumed fewer), calling fn(sqe) for each so the caller can free what it
  // attached. Only valid without SQPOLL: the kernel reads the tail only inside
  // io_uring_enter, so rewinding it is invisible to the kernel.
  template <class F>
  unsigned Unreserve(F fn);

  // --- completion ---
  // Up to max completions ready now, oldest first, without consuming them.
  unsigned Peek(io_uring_cqe** out, unsigned max) const;
  // Hands n peeked CQEs back to the kernel.
  void Release(unsigned n);
  // True when the kernel holds completions that did not fit the CQ
  // (IORING_FEAT_NODROP); FlushOverflow() moves them into the CQ.
  bool CqOverflowPending() const;
  int FlushOverflow();
  // Waits up to timeout_ms for at least one completion. 0, -ETIME, or -errno.
  int Wait(int timeout_ms);

 private:
  int fd_ = -1;
  uint32_t features_ = 0;
  uint32_t setup_flags_ = 0;
  unsigned sq_entries_ = 0, cq_entries_ = 0;
  unsigned sq_mask_ = 0, cq_mask_ = 0;

  void* sq_map_ = nullptr;
  size_t sq_map_len_ = 0;
  void* cq_map_ = nullptr;  // == sq_map_ with IORING_FEAT_SINGLE_MMAP
  size_t cq_map_len_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_len_ = 0;

  unsigned* sq_khead_ = nullptr;
  unsigned* sq_ktail_ = nullptr;
  unsigned* sq_kflags_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned* cq_khead_ = nullptr;
  unsigned* cq_ktail_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;

  unsigned sqe_tail_ = 0;  // our reservation cursor; published to *sq_ktail_ by Submit()
};

template <class F>
unsigned Ring::Unreserve(F fn) {
  // Acquire: the kernel's reads of consumed SQEs are finished before we reuse them.
  unsigned head = __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE);
  unsigned n = sqe_tail_ - head;
  for (unsigned i = head; i != sqe_tail_; i++) fn(&sqes_[i & sq_mask_]);
  sqe_tail_ = head;
  __atomic_store_n(sq_ktail_, head, __ATOMIC_RELEASE);
  return n;
}

}  // namespace wraith::uring
