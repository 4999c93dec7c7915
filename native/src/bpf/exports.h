// Each file of the AF_XDP area adds its functions to the one `xdp` object.
#pragma once
#include <napi.h>

namespace wraith::bpf {
void InitBpf(Napi::Env env, Napi::Object xdp);
void InitNetlink(Napi::Env env, Napi::Object xdp);
}  // namespace wraith::bpf

namespace wraith::xdp {
void InitSocket(Napi::Env env, Napi::Object xdp);
void InitSysinfo(Napi::Env env, Napi::Object xdp);
}  // namespace wraith::xdp
