// Argument checks shared by the xdp/ and bpf/ bindings: every parameter is
// validated here before any syscall sees it.
#pragma once
#include <napi.h>
#include <cstdint>
#include <cstdio>
#include <string>

namespace wraith::args {

// A number as the user wrote it: "3", "2.5", "1e+30".
inline std::string Num(double d) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.17g", d);
  return b;
}

// A view of any TypedArray/Buffer argument: pointer and byte length.
struct Bytes {
  uint8_t* data = nullptr;
  size_t len = 0;
};

inline bool GetBytes(const Napi::CallbackInfo& info, size_t i, const char* name, Bytes* out) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsTypedArray()) {
    Napi::TypeError::New(env, std::string(name) + " must be a Uint8Array or Buffer").ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  out->data = static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset();
  out->len = ta.ByteLength();
  return true;
}

// A Uint32Array argument of at least `min` elements.
inline bool GetU32Array(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min, uint32_t** out) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    Napi::TypeError::New(env, std::string(name) + " must be a Uint32Array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint32Array a = info[i].As<Napi::Uint32Array>();
  if (a.ElementLength() < min) {
    Napi::RangeError::New(env, std::string(name) + " has " + std::to_string(a.ElementLength()) +
                                   " elements, needs " + std::to_string(min)).ThrowAsJavaScriptException();
    return false;
  }
  *out = a.Data();
  return true;
}

// An integer argument within [lo, hi].
inline bool GetInt(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Napi::RangeError::New(env, std::string(name) + " = " + Num(d) + " is not an integer in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// An integer property of an options object, `def` when absent.
inline bool GetOptInt(Napi::Object o, const char* name, int64_t lo, int64_t hi, int64_t def, int64_t* out) {
  Napi::Env env = o.Env();
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) {
    *out = def;
    return true;
  }
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Napi::RangeError::New(env, std::string(name) + " = " + Num(d) + " is not an integer in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace wraith::args
