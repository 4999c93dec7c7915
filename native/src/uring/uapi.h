// io_uring uapi as this addon uses it. The installed <linux/io_uring.h> may be
// older than the running kernel (6.1 headers on 6.x kernels), so every
// constant used here that is newer than 5.1 is defined under #ifndef with the
// kernel version that introduced it.
#pragma once
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cstddef>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

// Setup flags.
#ifndef IORING_SETUP_CQSIZE
#define IORING_SETUP_CQSIZE (1U << 3)  // 5.5
#endif
#ifndef IORING_SETUP_CLAMP
#define IORING_SETUP_CLAMP (1U << 4)  // 5.6
#endif
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)  // 5.18: keep submitting after an SQE fails
#endif

// Features.
#ifndef IORING_FEAT_NODROP
#define IORING_FEAT_NODROP (1U << 1)  // 5.5
#endif
#ifndef IORING_FEAT_EXT_ARG
#define IORING_FEAT_EXT_ARG (1U << 8)  // 5.11
#endif

// Enter flags.
#ifndef IORING_ENTER_EXT_ARG
#define IORING_ENTER_EXT_ARG (1U << 3)  // 5.11
#endif

// SQ ring flags.
#ifndef IORING_SQ_CQ_OVERFLOW
#define IORING_SQ_CQ_OVERFLOW (1U << 1)  // 5.8
#endif

// Cancel flags (5.19).
#ifndef IORING_ASYNC_CANCEL_ALL
#define IORING_ASYNC_CANCEL_ALL (1U << 0)
#endif
#ifndef IORING_ASYNC_CANCEL_ANY
#define IORING_ASYNC_CANCEL_ANY (1U << 2)
#endif

#ifndef IO_URING_OP_SUPPORTED
#define IO_URING_OP_SUPPORTED (1U << 0)
#endif

namespace wraith::uring {

inline int SysSetup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}

inline int SysEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                    const void* arg, size_t argsz) {
  return static_cast<int>(
      syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz));
}

inline int SysRegister(int fd, unsigned opcode, const void* arg, unsigned nr_args) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, nr_args));
}

}  // namespace wraith::uring
