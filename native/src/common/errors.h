// Native failures become JS errors carrying code, syscall, errno and a hint:
// "syscall(args): strerror: hint".
#pragma once
#include <napi.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace wraith {

inline Napi::Error SysError(Napi::Env env, const char* code, const std::string& syscall, int err,
                            const std::string& hint) {
  std::string msg = syscall + ": " + std::strerror(err);
  if (!hint.empty()) msg += ": " + hint;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("hint", Napi::String::New(env, hint));
  return e;
}

// Throws (as a pending JS exception) and returns undefined for early returns.
inline Napi::Value ThrowSys(Napi::Env env, const char* code, const std::string& syscall, int err,
                            const std::string& hint = "") {
  SysError(env, code, syscall, err, hint).ThrowAsJavaScriptException();
  return env.Undefined();
}

inline Napi::Value ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace wraith
