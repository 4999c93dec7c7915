// bpf(2) for the XDP program: the XSKMAP, loading bytecode built in
// TypeScript, BPF_PROG_TEST_RUN, and attaching through a BPF link (the link
// dies with its last fd, so a killed process leaves no program behind).
#include <napi.h>
#include <fcntl.h>
#include <cerrno>
#include <string>
#include <vector>

#include "bpf/bpf_sys.h"
#include "bpf/exports.h"
#include "common/errors.h"
#include "xdp/args.h"

namespace wraith::bpf {
namespace {

constexpr const char* kUnavailable = "E_XDP_UNAVAILABLE";
constexpr const char* kBusy = "E_XDP_BUSY";

std::string PermHint(int err) {
  if (err == EPERM) return "needs CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN";
  return "";
}

// mapCreateXsk(maxEntries, name) -> fd of a BPF_MAP_TYPE_XSKMAP (key: rx queue).
Napi::Value MapCreateXsk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t max;
  if (!args::GetInt(info, 0, "maxEntries", 1, 4096, &max)) return env.Undefined();
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_XSKMAP;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = static_cast<uint32_t>(max);
  std::strncpy(attr.map_name, "wraith_xsks", sizeof(attr.map_name) - 1);
  int fd = Sys(BPF_MAP_CREATE, &attr);
  if (fd < 0) {
    int err = errno;
    std::string hint = err == EPERM ? PermHint(err) : err == ENOMEM ? "raise the memlock limit (ulimit -l) or grant CAP_IPC_LOCK" : "";
    return ThrowSys(env, kUnavailable, "bpf(BPF_MAP_CREATE, XSKMAP, max_entries=" + std::to_string(max) + ")", err, hint);
  }
  return Napi::Number::New(env, fd);
}

// mapUpdateFd(mapFd, key, valueFd): puts an AF_XDP socket into the XSKMAP.
Napi::Value MapUpdateFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t map, key, val;
  if (!args::GetInt(info, 0, "mapFd", 0, INT32_MAX, &map) || !args::GetInt(info, 1, "key", 0, UINT32_MAX, &key) ||
      !args::GetInt(info, 2, "valueFd", 0, INT32_MAX, &val))
    return env.Undefined();
  uint32_t k = static_cast<uint32_t>(key), v = static_cast<uint32_t>(val);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(map);
  attr.key = Ptr(&k);
  attr.value = Ptr(&v);
  attr.flags = BPF_ANY;
  if (Sys(BPF_MAP_UPDATE_ELEM, &attr) < 0) {
    int err = errno;
    return ThrowSys(env, kUnavailable,
                    "bpf(BPF_MAP_UPDATE_ELEM, map=" + std::to_string(map) + ", key=" + std::to_string(key) +
                        ", fd=" + std::to_string(val) + ")",
                    err, err == EOPNOTSUPP ? "the AF_XDP socket must be bound with an RX ring first" : "");
  }
  return env.Undefined();
}

// mapDelete(mapFd, key) -> false when the key was absent.
Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t map, key;
  if (!args::GetInt(info, 0, "mapFd", 0, INT32_MAX, &map) || !args::GetInt(info, 1, "key", 0, UINT32_MAX, &key))
    return env.Undefined();
  uint32_t k = static_cast<uint32_t>(key);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(map);
  attr.key = Ptr(&k);
  if (Sys(BPF_MAP_DELETE_ELEM, &attr) < 0) {
    int err = errno;
    if (err == ENOENT) return Napi::Boolean::New(env, false);
    return ThrowSys(env, kUnavailable, "bpf(BPF_MAP_DELETE_ELEM, map=" + std::to_string(map) + ", key=" + std::to_string(key) + ")", err);
  }
  return Napi::Boolean::New(env, true);
}

int LoadOnce(const args::Bytes& insns, const char* name, const char* license, uint32_t logLevel, char* log, uint32_t logSize) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_XDP;
  attr.expected_attach_type = BPF_XDP;
  attr.insns = Ptr(insns.data);
  attr.insn_cnt = static_cast<uint32_t>(insns.len / sizeof(struct bpf_insn));
  attr.license = Ptr(license);
  // The kernel rejects log_buf with log_level 0 (EINVAL): both or neither.
  attr.log_level = logLevel;
  attr.log_buf = Ptr(log);
  attr.log_size = log ? logSize : 0;
  std::strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
  return Sys(BPF_PROG_LOAD, &attr);
}

// progLoadXdp(insns, name) -> fd. On failure the error carries `verifierLog`.
Napi::Value ProgLoadXdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  args::Bytes insns;
  if (!args::GetBytes(info, 0, "insns", &insns)) return env.Undefined();
  if (insns.len == 0 || insns.len % sizeof(struct bpf_insn) != 0 || insns.len / sizeof(struct bpf_insn) > 4096)
    return ThrowType(env, "insns must be 1..4096 eBPF instructions of 8 bytes, got " + std::to_string(insns.len) + " bytes");
  std::string name = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "wraith_xdp";
  static const char kLicense[] = "Apache-2.0";

  // First without a log (fast path); on failure load again with a log so the
  // verifier's reason reaches the user, as libbpf does.
  int fd = LoadOnce(insns, name.c_str(), kLicense, 0, nullptr, 0);
  if (fd >= 0) return Napi::Number::New(env, fd);
  int err = errno;
  std::vector<char> log(1 << 20, 0);
  int fd2 = LoadOnce(insns, name.c_str(), kLicense, 1, log.data(), static_cast<uint32_t>(log.size()));
  if (fd2 >= 0) return Napi::Number::New(env, fd2);  // transient failure: keep the program
  log.back() = 0;
  std::string text(log.data());
  std::string hint = err == EACCES ? "the verifier rejected the program; see verifierLog" : PermHint(err);
  Napi::Error e = SysError(env, kUnavailable,
                           "bpf(BPF_PROG_LOAD, XDP, insn_cnt=" + std::to_string(insns.len / 8) + ")", err, hint);
  e.Set("verifierLog", Napi::String::New(env, text));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// progTestRun(progFd, frame, {ingressIfindex?, rxQueueIndex?, repeat?}) ->
// {retval, dataOut: Buffer}. Runs the program on a crafted frame.
Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t prog;
  args::Bytes data;
  if (!args::GetInt(info, 0, "progFd", 0, INT32_MAX, &prog) || !args::GetBytes(info, 1, "frame", &data)) return env.Undefined();
  int64_t ifindex = 0, queue = 0, repeat = 1;
  bool withCtx = false;
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    withCtx = !o.Get("ingressIfindex").IsUndefined() || !o.Get("rxQueueIndex").IsUndefined();
    if (!args::GetOptInt(o, "ingressIfindex", 0, INT32_MAX, 0, &ifindex) ||
        !args::GetOptInt(o, "rxQueueIndex", 0, 65535, 0, &queue) || !args::GetOptInt(o, "repeat", 1, 1000000, 1, &repeat))
      return env.Undefined();
  }
  struct xdp_md ctx;
  std::memset(&ctx, 0, sizeof(ctx));
  ctx.ingress_ifindex = static_cast<uint32_t>(ifindex);
  ctx.rx_queue_index = static_cast<uint32_t>(queue);
  std::vector<uint8_t> out(data.len + 512, 0);

  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.test.prog_fd = static_cast<uint32_t>(prog);
  attr.test.data_in = Ptr(data.data);
  attr.test.data_size_in = static_cast<uint32_t>(data.len);
  attr.test.data_out = Ptr(out.data());
  attr.test.data_size_out = static_cast<uint32_t>(out.size());
  attr.test.repeat = static_cast<uint32_t>(repeat);
  if (withCtx) {
    attr.test.ctx_in = Ptr(&ctx);
    attr.test.ctx_size_in = sizeof(ctx);
  }
  if (Sys(BPF_PROG_TEST_RUN, &attr) < 0) {
    int err = errno;
    std::string hint = err == EINVAL && data.len < 14 ? "BPF_PROG_TEST_RUN needs at least an Ethernet header (14 bytes)" : "";
    return ThrowSys(env, kUnavailable, "bpf(BPF_PROG_TEST_RUN, prog=" + std::to_string(prog) + ", size=" + std::to_string(data.len) + ")", err, hint);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("retval", Napi::Number::New(env, attr.test.retval));
  uint32_t n = attr.test.data_size_out < out.size() ? attr.test.data_size_out : static_cast<uint32_t>(out.size());
  r.Set("dataOut", Napi::Buffer<uint8_t>::Copy(env, out.data(), n));
  return r;
}

// progId(fd) -> the kernel's id of a loaded program (what IFLA_XDP reports).
Napi::Value ProgId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!args::GetInt(info, 0, "progFd", 0, INT32_MAX, &fd)) return env.Undefined();
  struct bpf_prog_info pinfo;
  std::memset(&pinfo, 0, sizeof(pinfo));
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = static_cast<uint32_t>(fd);
  attr.info.info_len = sizeof(pinfo);
  attr.info.info = Ptr(&pinfo);
  if (Sys(BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
    return ThrowSys(env, kUnavailable, "bpf(BPF_OBJ_GET_INFO_BY_FD, fd=" + std::to_string(fd) + ")", errno);
  return Napi::Number::New(env, pinfo.id);
}

// linkCreateXdp(progFd, ifindex, 'native'|'generic') -> link fd. The kernel
// refuses (EBUSY/EEXIST) when any XDP program is already attached: a link
// never replaces a program someone else loaded.
Napi::Value LinkCreateXdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t prog, ifindex;
  if (!args::GetInt(info, 0, "progFd", 0, INT32_MAX, &prog) || !args::GetInt(info, 1, "ifindex", 1, INT32_MAX, &ifindex))
    return env.Undefined();
  if (info.Length() < 3 || !info[2].IsString()) return ThrowType(env, "mode must be 'native' or 'generic'");
  std::string mode = info[2].As<Napi::String>().Utf8Value();
  uint32_t flags;
  if (mode == "native") flags = XDP_FLAGS_DRV_MODE;
  else if (mode == "generic") flags = XDP_FLAGS_SKB_MODE;
  else return ThrowType(env, "mode must be 'native' or 'generic', got '" + mode + "'");

  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.link_create.prog_fd = static_cast<uint32_t>(prog);
  attr.link_create.target_ifindex = static_cast<uint32_t>(ifindex);
  attr.link_create.attach_type = BPF_XDP;
  attr.link_create.flags = flags;
  int fd = Sys(BPF_LINK_CREATE, &attr);
  if (fd < 0) {
    int err = errno;
    std::string call = "bpf(BPF_LINK_CREATE, XDP, ifindex=" + std::to_string(ifindex) + ", mode=" + mode + ")";
    if (err == EBUSY) return ThrowSys(env, kBusy, call, err, "the interface already has an XDP program; it is left untouched");
    if (err == EEXIST) return ThrowSys(env, kBusy, call, err, "an XDP program is attached in the other mode; it is left untouched");
    std::string hint = err == EOPNOTSUPP ? "the driver has no native XDP; generic mode may work" : PermHint(err);
    return ThrowSys(env, kUnavailable, call, err, hint);
  }
  return Napi::Number::New(env, fd);
}

// closeFd(fd): closes a map, program or link fd (closing the link detaches).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!args::GetInt(info, 0, "fd", 0, INT32_MAX, &fd)) return env.Undefined();
  if (close(static_cast<int>(fd)) < 0) return ThrowSys(env, kUnavailable, "close(" + std::to_string(fd) + ")", errno);
  return env.Undefined();
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object xdp) {
  xdp.Set("mapCreateXsk", Napi::Function::New(env, MapCreateXsk, "mapCreateXsk"));
  xdp.Set("mapUpdateFd", Napi::Function::New(env, MapUpdateFd, "mapUpdateFd"));
  xdp.Set("mapDelete", Napi::Function::New(env, MapDelete, "mapDelete"));
  xdp.Set("progLoadXdp", Napi::Function::New(env, ProgLoadXdp, "progLoadXdp"));
  xdp.Set("progTestRun", Napi::Function::New(env, ProgTestRun, "progTestRun"));
  xdp.Set("progId", Napi::Function::New(env, ProgId, "progId"));
  xdp.Set("linkCreateXdp", Napi::Function::New(env, LinkCreateXdp, "linkCreateXdp"));
  xdp.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace wraith::bpf
