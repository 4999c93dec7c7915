// Each area (uring/, xdp/, ...) registers its exports from its own file, so
// adding an area never edits addon.cc.
#pragma once
#include <napi.h>
#include <vector>

namespace wraith {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

inline std::vector<InitFn>& Registry() {
  static std::vector<InitFn> fns;
  return fns;
}

struct Registrar {
  explicit Registrar(InitFn fn) { Registry().push_back(fn); }
};

}  // namespace wraith

#define WRAITH_REGISTER(fn) static ::wraith::Registrar wraith_registrar_##fn(fn)
