// The service manager's readiness protocol (sd_notify(3)), which node:dgram cannot speak:
//   sdNotify(address, message)   one datagram on an AF_UNIX SOCK_DGRAM socket to $NOTIFY_SOCKET:
//                                a path, or "@name" for the abstract namespace.
// Throws an Error carrying code, syscall, errno and hint (common/errors.h).
#include <napi.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "common/errors.h"
#include "common/registry.h"

namespace {

using wraith::ThrowSys;
using wraith::ThrowType;

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    return ThrowType(env, "sdNotify(address, message): two strings");
  }
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  std::string msg = info[1].As<Napi::String>().Utf8Value();
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (addr.empty() || (addr[0] != '/' && addr[0] != '@') || addr.size() > sizeof sa.sun_path) {
    return ThrowSys(env, "E_NOTIFY", "sdNotify(" + addr + ")", EINVAL,
                    "NOTIFY_SOCKET must be an absolute path or @abstract name, at most 108 bytes");
  }
  std::memcpy(sa.sun_path, addr.data(), addr.size());
  if (addr[0] == '@') sa.sun_path[0] = '\0';
  // An abstract name's length is exact (no terminator); a path's may include one.
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + addr.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowSys(env, "E_NOTIFY", "socket(AF_UNIX, SOCK_DGRAM)", errno);
  ssize_t n;
  do {
    n = sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), len);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n < 0) return ThrowSys(env, "E_NOTIFY", "sendto(" + addr + ")", err);
  return env.Undefined();
}

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New<SdNotify>(env, "sdNotify"));
}

WRAITH_REGISTER(InitNotify);

}  // namespace
