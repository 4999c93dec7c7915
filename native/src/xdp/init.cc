// Registers the AF_XDP area as `native.xdp`.
#include <napi.h>

#include "bpf/exports.h"
#include "common/registry.h"

namespace {

void InitXdp(Napi::Env env, Napi::Object exports) {
  Napi::Object xdp = Napi::Object::New(env);
  wraith::bpf::InitBpf(env, xdp);
  wraith::bpf::InitNetlink(env, xdp);
  wraith::xdp::InitSysinfo(env, xdp);
  wraith::xdp::InitSocket(env, xdp);
  exports.Set("xdp", xdp);
}

}  // namespace

WRAITH_REGISTER(InitXdp);
