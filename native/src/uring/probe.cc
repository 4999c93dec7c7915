// uringProbe(): can this process use io_uring, and if not, why. It creates a
// tiny ring, asks the kernel which opcodes it supports (IORING_REGISTER_PROBE)
// and closes it. uringLimits(): the locked-memory budget registered buffers
// count against. bufferAddressMod(): alignment of a JS buffer (O_DIRECT).
#include <napi.h>
#include <linux/capability.h>
#include <sys/resource.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/registry.h"
#include "uring/uapi.h"

namespace wraith::uring {
namespace {

// kernel.io_uring_disabled (6.6+): 0 enabled, 1 only for io_uring_group/CAP_SYS_ADMIN, 2 off.
int ReadDisabledSysctl() {
  FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "re");
  if (f == nullptr) return -1;
  int v = -1;
  if (std::fscanf(f, "%d", &v) != 1) v = -1;
  std::fclose(f);
  return v;
}

std::string ReasonFor(int err, int disabled) {
  switch (err) {
    case ENOSYS:
      return "io_uring_setup: ENOSYS: the kernel was built without io_uring";
    case EPERM:
      if (disabled == 2) return "io_uring_setup: EPERM: disabled by sysctl kernel.io_uring_disabled=2";
      if (disabled == 1)
        return "io_uring_setup: EPERM: kernel.io_uring_disabled=1 and this process is neither in "
               "kernel.io_uring_group nor CAP_SYS_ADMIN";
      return "io_uring_setup: EPERM: blocked by seccomp or an LSM (container runtime profile?)";
    case ENOMEM:
      return "io_uring_setup: ENOMEM: not enough locked memory for a ring (RLIMIT_MEMLOCK, kernels < 5.12)";
    default:
      return std::string("io_uring_setup: ") + std::strerror(err);
  }
}

struct NeededOp {
  unsigned op;
  const char* name;
};
const NeededOp kNeeded[] = {
    {IORING_OP_READ, "READ"},         {IORING_OP_WRITE, "WRITE"},
    {IORING_OP_READ_FIXED, "READ_FIXED"}, {IORING_OP_WRITE_FIXED, "WRITE_FIXED"},
    {IORING_OP_FSYNC, "FSYNC"},       {IORING_OP_FALLOCATE, "FALLOCATE"},
    {IORING_OP_OPENAT, "OPENAT"},     {IORING_OP_CLOSE, "CLOSE"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  int disabled = ReadDisabledSysctl();
  r.Set("ioUringDisabledSysctl", disabled);
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  int fd = SysSetup(2, &p);
  if (fd < 0) {
    int err = errno;
    r.Set("ok", false);
    r.Set("code", "E_IO_URING_UNAVAILABLE");
    r.Set("errno", err);
    r.Set("reason", ReasonFor(err, disabled));
    return r;
  }
  r.Set("features", p.features);
  // io_uring_probe has a flexible array of 256 ops after its header.
  std::vector<uint8_t> mem(sizeof(io_uring_probe) + 256 * sizeof(io_uring_probe_op), 0);
  auto* probe = reinterpret_cast<io_uring_probe*>(mem.data());
  std::string missing;
  if (SysRegister(fd, IORING_REGISTER_PROBE, probe, 256) == 0) {
    for (const NeededOp& n : kNeeded) {
      bool ok = n.op <= probe->last_op && n.op < probe->ops_len &&
                (probe->ops[n.op].flags & IO_URING_OP_SUPPORTED) != 0;
      if (!ok) missing += std::string(missing.empty() ? "" : ",") + n.name;
    }
  } else {
    missing = "IORING_REGISTER_PROBE";  // < 5.6: too old for READ/WRITE/OPENAT anyway
  }
  close(fd);
  if (!missing.empty()) {
    r.Set("ok", false);
    r.Set("code", "E_IO_URING_UNAVAILABLE");
    r.Set("errno", ENOTSUP);
    r.Set("reason", "io_uring lacks opcodes this node needs: " + missing + " (kernel too old?)");
    return r;
  }
  r.Set("ok", true);
  return r;
}

Napi::Value Limits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) return ThrowSys(env, "E_IO", "getrlimit(RLIMIT_MEMLOCK)", errno);
  auto lim = [&](rlim_t v) {
    return v == RLIM_INFINITY ? Napi::Number::New(env, INFINITY) : Napi::Number::New(env, static_cast<double>(v));
  };
  r.Set("memlockCur", lim(rl.rlim_cur));
  r.Set("memlockMax", lim(rl.rlim_max));
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2];
  std::memset(data, 0, sizeof data);
  bool ipc_lock = false;
  if (syscall(SYS_capget, &hdr, data) == 0) ipc_lock = (data[0].effective & (1u << CAP_IPC_LOCK)) != 0;
  r.Set("capIpcLock", ipc_lock);
  return r;
}

// bufferAddressMod(view, alignment) -> address of view[0] modulo alignment.
Napi::Value AddressMod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) return ThrowType(env, "bufferAddressMod: view must be a TypedArray");
  if (!info[1].IsNumber()) return ThrowType(env, "bufferAddressMod: alignment must be a number");
  uint32_t a = info[1].As<Napi::Number>().Uint32Value();
  if (a == 0 || (a & (a - 1)) != 0) return ThrowType(env, "bufferAddressMod: alignment must be a power of two");
  Napi::TypedArray t = info[0].As<Napi::TypedArray>();
  auto base = reinterpret_cast<uintptr_t>(t.ArrayBuffer().Data()) + t.ByteOffset();
  return Napi::Number::New(env, static_cast<double>(base & (a - 1)));
}

void InitUringProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("uringProbe", Napi::Function::New<Probe>(env, "uringProbe"));
  exports.Set("uringLimits", Napi::Function::New<Limits>(env, "uringLimits"));
  exports.Set("bufferAddressMod", Napi::Function::New<AddressMod>(env, "bufferAddressMod"));
}

WRAITH_REGISTER(InitUringProbe);

}  // namespace
}  // namespace wraith::uring
