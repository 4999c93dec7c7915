// Thin wrappers over bpf(2). The installed uapi headers are older than the
// running kernel; anything newer is defined here under #ifndef.
#pragma once
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cstring>

#ifndef XDP_FLAGS_SKB_MODE
#define XDP_FLAGS_SKB_MODE (1U << 1)
#endif
#ifndef XDP_FLAGS_DRV_MODE
#define XDP_FLAGS_DRV_MODE (1U << 2)
#endif

namespace wraith::bpf {

inline int Sys(int cmd, union bpf_attr* attr) {
  // The kernel reads only sizeof(*attr) bytes and requires the tail it does
  // not know to be zero, so every caller zeroes the whole union first.
  return static_cast<int>(syscall(__NR_bpf, cmd, attr, sizeof(*attr)));
}

inline unsigned long long Ptr(const void* p) {
  return static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p));
}

}  // namespace wraith::bpf
