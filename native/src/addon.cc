#include "common/registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  for (auto fn : wraith::Registry()) fn(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(wraith_native, Init)
