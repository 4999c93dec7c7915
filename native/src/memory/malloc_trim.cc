// Giving freed heap memory back to the kernel:
//   mallocTrim() -> bool   malloc_trim(0) (glibc): true when memory was released.
// glibc raises its mmap threshold after a large block is freed, so the 256 KiB chunk buffers
// of a big transfer end up on the heap, whose freed pages stay in the process until trimmed.
// Elsewhere (musl) this returns false.
#include <napi.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common/registry.h"

namespace {

Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("mallocTrim", Napi::Function::New<MallocTrim>(env, "mallocTrim"));
}

WRAITH_REGISTER(InitMemory);

}  // namespace
