#include "uring/ring.h"

#include <poll.h>
#include <sys/mman.h>
#include <cerrno>

#include <cstring>


namespace wraith::uring {

int Ring::Init(unsigned sq_entries, unsigned cq_entries, std::string* what) {
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
  p.cq_entries = cq_entries;
  int fd = SysSetup(sq_entries, &p);
  if (fd < 0 && errno == EINVAL) {
    // Kernels before 5.18 reject SUBMIT_ALL; without it a failing SQE stops
    // the batch, which Submit()'s callers handle through Unreserve().
    std::memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    p.cq_entries = cq_entries;
    fd = SysSetup(sq_entries, &p);
  }
  if (fd < 0) {
    int err = errno;
    *what = "io_uring_setup(entries=" + std::to_string(sq_entries) +
            ", cq_entries=" + std::to_string(cq_entries) + ")";
    return err;
  }
  fd_ = fd;
  features_ = p.features;
  setup_flags_ = p.flags;
  sq_entries_ = p.sq_entries;
  cq_entries_ = p.cq_entries;

  sq_map_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_len_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (cq_map_len_ > sq_map_len_) sq_map_len_ = cq_map_len_;
    cq_map_len_ = sq_map_len_;
  }
  sq_map_ = mmap(nullptr, sq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                 IORING_OFF_SQ_RING);
  if (sq_map_ == MAP_FAILED) {
    int err = errno;
    sq_map_ = nullptr;
    *what = "mmap(IORING_OFF_SQ_RING, " + std::to_string(sq_map_len_) + ")";
    Destroy();
    return err;
  }
  if (single) {
    cq_map_ = sq_map_;
  } else {
    cq_map_ = mmap(nullptr, cq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                   IORING_OFF_CQ_RING);
    if (cq_map_ == MAP_FAILED) {
      int err = errno;
      cq_map_ = nullptr;
      *what = "mmap(IORING_OFF_CQ_RING, " + std::to_string(cq_map_len_) + ")";
      Destroy();
      return err;
    }
  }
  sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                    IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    int err = errno;
    *what = "mmap(IORING_OFF_SQES, " + std::to_string(sqes_len_) + ")";
    Destroy();
    return err;
  }
  sqes_ = static_cast<io_uring_sqe*>(sqes);

  char* sq = static_cast<char*>(sq_map_);
  sq_khead_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  sq_ktail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  sq_kflags_ = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
  sq_array_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  sq_mask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  char* cq = static_cast<char*>(cq_map_);
  cq_khead_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
  cq_ktail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
  cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
  cq_mask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);

  // SQE i always sits in array slot i, so the indirection table is fixed once.
  for (unsigned i = 0; i < sq_entries_; i++) sq_array_[i] = i;
  sqe_tail_ = *sq_ktail_;
  return 0;
}

void Ring::Destroy() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_len_);
  if (cq_map_ != nullptr && cq_map_ != sq_map_) munmap(cq_map_, cq_map_len_);
  if (sq_map_ != nullptr) munmap(sq_map_, sq_map_len_);
  if (fd_ >= 0) close(fd_);
  sqes_ = nullptr;
  cq_map_ = sq_map_ = nullptr;
  fd_ = -1;
  sq_khead_ = sq_ktail_ = sq_kflags_ = sq_array_ = cq_khead_ = cq_ktail_ = nullptr;
  cqes_ = nullptr;
}

io_uring_sqe* Ring::Reserve() {
  // Acquire pairs with the kernel's release of the SQ head: SQEs it consumed
  // have been read before we overwrite them.
  unsigned head = __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE);
  if (sqe_tail_ - head >= sq_entries_) return nullptr;
  io_uring_sqe* sqe = &sqes_[sqe_tail_ & sq_mask_];
  sqe_tail_++;
  std::memset(sqe, 0, sizeof *sqe);
  return sqe;
}

unsigned Ring::Pending() const {
  return sqe_tail_ - __atomic_load_n(sq_khead_, __ATOMIC_ACQUIRE);
}

int Ring::Submit() {
  // Release: the SQE contents written by the caller are visible to the kernel
  // before it can observe the new tail.
  __atomic_store_n(sq_ktail_, sqe_tail_, __ATOMIC_RELEASE);
  unsigned to_submit = Pending();
  if (to_submit == 0) return 0;
  int ret;
  do {
    ret = SysEnter(fd_, to_submit, 0, 0, nullptr, 0);
  } while (ret < 0 && errno == EINTR);
  return ret < 0 ? -errno : ret;
}

unsigned Ring::Peek(io_uring_cqe** out, unsigned max) const {
  // The head is ours (relaxed); acquire on the tail pairs with the kernel's
  // release after it writes a CQE, so the CQE contents are visible here.
  unsigned head = *cq_khead_;
  unsigned tail = __atomic_load_n(cq_ktail_, __ATOMIC_ACQUIRE);
  unsigned n = tail - head;
  if (n > max) n = max;
  for (unsigned i = 0; i < n; i++) out[i] = &cqes_[(head + i) & cq_mask_];
  return n;
}

void Ring::Release(unsigned n) {
  // Release: our reads of the CQEs complete before the kernel may reuse them.
  __atomic_store_n(cq_khead_, *cq_khead_ + n, __ATOMIC_RELEASE);
}

bool Ring::CqOverflowPending() const {
  return (__atomic_load_n(sq_kflags_, __ATOMIC_RELAXED) & IORING_SQ_CQ_OVERFLOW) != 0;
}

int Ring::FlushOverflow() {
  int ret;
  do {
    ret = SysEnter(fd_, 0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
  } while (ret < 0 && errno == EINTR);
  return ret < 0 ? -errno : 0;
}

int Ring::Wait(int timeout_ms) {
  if (features_ & IORING_FEAT_EXT_ARG) {
    __kernel_timespec ts;
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000LL;
    io_uring_getevents_arg arg;
    std::memset(&arg, 0, sizeof arg);
    arg.ts = reinterpret_cast<uint64_t>(&ts);
    int ret = SysEnter(fd_, 0, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    if (ret < 0) return errno == EINTR ? 0 : -errno;
    return 0;
  }
  // Older kernels: the ring fd is readable when the CQ holds entries.
  pollfd pfd = {fd_, POLLIN, 0};
  int ret = poll(&pfd, 1, timeout_ms);
  if (ret < 0) return errno == EINTR ? 0 : -errno;
  return ret == 0 ? -ETIME : 0;
}

}  // namespace wraith::uring
