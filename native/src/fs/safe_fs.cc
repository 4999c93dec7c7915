// Small synchronous helpers for receiving files safely:
//   fsOpenat2(dirfd, path, flags, mode, resolve[, quiet]) -> fd
//     openat2(2); with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS a received name can
//     neither climb out of the destination directory nor follow a planted link.
//     quiet: a failure returns -errno instead of throwing (an existence check
//     per received file would otherwise build an Error with a stack each time).
//   fsRenameat2(olddirfd, old, newdirfd, new, flags)   RENAME_NOREPLACE: never clobber
//   fsFallocate(fd, mode, offset, len)                 reserve space before writing
//   fsUnlinkat(dirfd, name, flags)   flags 0 or AT_REMOVEDIR; with a dirfd from openat2
//   fsMkdirat(dirfd, name, mode)     beneath root, a swapped parent cannot redirect them
//   fsFlock(fd) -> bool              flock(LOCK_EX|LOCK_NB): false when another open file
//                                    holds it; the kernel drops it when the fd closes
//   fsSeekData(fd, offset) -> number lseek(SEEK_DATA): the first data byte at or after offset,
//                                    -1 when none (a hole to the end, or offset past it)
// Each throws an Error carrying code, syscall, errno and hint (common/errors.h).
#include <napi.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <string>

#include "common/errors.h"
#include "common/registry.h"
#include "fs/errno_code.h"

// <linux/openat2.h> arrived with 5.6 headers; define what we use if absent.
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#else
struct open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
#endif
#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif
#ifndef RESOLVE_NO_SYMLINKS
#define RESOLVE_NO_SYMLINKS 0x04
#endif
#ifndef RESOLVE_BENEATH
#define RESOLVE_BENEATH 0x08
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace wraith::fs {
namespace {

constexpr uint32_t kResolveKnown =
    RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT;

bool IntArg(const Napi::CallbackInfo& info, size_t i, double lo, double hi, int64_t* out) {
  if (!info[i].IsNumber()) return false;
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || v < lo || v > hi) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

// A syscall retried while it fails with EINTR (that comes before it did anything: FUSE, NFS).
template <typename F>
auto RetryEintr(F f) -> decltype(f()) {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

// A directory fd argument: an open fd or AT_FDCWD (negative), nothing else.
bool DirfdArg(const Napi::CallbackInfo& info, size_t i, int64_t* out) {
  return IntArg(info, i, AT_FDCWD, INT32_MAX, out) && (*out >= 0 || *out == AT_FDCWD);
}

bool PathArg(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (!info[i].IsString()) return false;
  *out = info[i].As<Napi::String>().Utf8Value();
  return !out->empty() && out->find('\0') == std::string::npos;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

Napi::Value Openat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t dirfd, flags, mode, resolve;
  std::string path;
  if (!DirfdArg(info, 0, &dirfd))
    return ThrowType(env, "fsOpenat2: dirfd must be an fd or AT_FDCWD");
  if (!PathArg(info, 1, &path)) return ThrowType(env, "fsOpenat2: path must be a non-empty string without NUL");
  if (!IntArg(info, 2, 0, INT32_MAX, &flags)) return ThrowType(env, "fsOpenat2: flags must be a non-negative integer");
  if (!IntArg(info, 3, 0, 07777, &mode)) return ThrowType(env, "fsOpenat2: mode must be 0..0o7777");
  if (!IntArg(info, 4, 0, kResolveKnown, &resolve) || (resolve & ~static_cast<int64_t>(kResolveKnown)))
    return ThrowType(env, "fsOpenat2: unknown RESOLVE_* bits");
  open_how how{};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  // openat2 rejects a mode without O_CREAT/O_TMPFILE (EINVAL).
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? static_cast<uint64_t>(mode) : 0;
  how.resolve = static_cast<uint64_t>(resolve);
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsBoolean())
    return ThrowType(env, "fsOpenat2: quiet must be a boolean");
  const bool quiet = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  long fd = RetryEintr([&] { return syscall(SYS_openat2, static_cast<int>(dirfd), path.c_str(), &how, sizeof how); });
  if (fd < 0) {
    int err = errno;
    if (quiet) return Napi::Number::New(env, -err);
    std::string call = "openat2(" + std::to_string(dirfd) + ", " + Quote(path) + ", flags=0x" +
                       [&] { char b[16]; snprintf(b, sizeof b, "%llx", (unsigned long long)how.flags); return std::string(b); }() +
                       ", resolve=0x" + std::to_string(resolve) + ")";
    const char* code = CodeForErrno(err);
    std::string hint;
    if ((err == EXDEV || err == ELOOP) && resolve != 0) {
      code = "E_PATH_INVALID";
      hint = err == ELOOP ? "the path contains a symbolic link, which receives never follow"
                          : "the path escapes the destination directory";
    } else if (err == ENOSYS) {
      hint = "openat2 needs Linux 5.6";
    } else if (err == EAGAIN) {
      hint = "RESOLVE_CACHED could not complete from the cache";
    }
    return ThrowSys(env, code, call, err, hint);
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

Napi::Value Renameat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t olddir, newdir, flags;
  std::string from, to;
  if (!DirfdArg(info, 0, &olddir))
    return ThrowType(env, "fsRenameat2: olddirfd must be an fd or AT_FDCWD");
  if (!PathArg(info, 1, &from)) return ThrowType(env, "fsRenameat2: old path must be a non-empty string without NUL");
  if (!DirfdArg(info, 2, &newdir))
    return ThrowType(env, "fsRenameat2: newdirfd must be an fd or AT_FDCWD");
  if (!PathArg(info, 3, &to)) return ThrowType(env, "fsRenameat2: new path must be a non-empty string without NUL");
  if (!IntArg(info, 4, 0, RENAME_NOREPLACE | RENAME_EXCHANGE, &flags))
    return ThrowType(env, "fsRenameat2: flags must be 0, RENAME_NOREPLACE or RENAME_EXCHANGE");
  if (syscall(SYS_renameat2, static_cast<int>(olddir), from.c_str(), static_cast<int>(newdir), to.c_str(),
              static_cast<unsigned>(flags)) != 0) {
    int err = errno;
    std::string call = "renameat2(" + Quote(from) + ", " + Quote(to) + ", flags=" + std::to_string(flags) + ")";
    std::string hint;
    if (err == EEXIST) hint = "the target exists and RENAME_NOREPLACE never replaces it";
    if (err == EINVAL && flags != 0) hint = "this filesystem does not support renameat2 flags";
    if (err == EXDEV) hint = "source and target are on different filesystems";
    return ThrowSys(env, CodeForErrno(err), call, err, hint);
  }
  return env.Undefined();
}

Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, mode, off, len;
  if (!IntArg(info, 0, 0, INT32_MAX, &fd)) return ThrowType(env, "fsFallocate: fd must be a non-negative integer");
  if (!IntArg(info, 1, 0, INT32_MAX, &mode)) return ThrowType(env, "fsFallocate: mode must be a non-negative integer");
  if (!IntArg(info, 2, 0, 9007199254740991.0, &off)) return ThrowType(env, "fsFallocate: offset must be a safe integer >= 0");
  if (!IntArg(info, 3, 1, 9007199254740991.0, &len)) return ThrowType(env, "fsFallocate: length must be a safe integer >= 1");
  int r = RetryEintr([&] { return fallocate(static_cast<int>(fd), static_cast<int>(mode), off, len); });
  if (r != 0) {
    int err = errno;
    std::string call = "fallocate(" + std::to_string(fd) + ", mode=" + std::to_string(mode) + ", " +
                       std::to_string(off) + ", " + std::to_string(len) + ")";
    std::string hint;
    if (err == EOPNOTSUPP) hint = "the filesystem cannot preallocate";
    if (err == ENOSPC) hint = "not enough free space for the reservation";
    return ThrowSys(env, CodeForErrno(err), call, err, hint);
  }
  return env.Undefined();
}

Napi::Value Unlinkat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t dirfd, flags;
  std::string name;
  if (!DirfdArg(info, 0, &dirfd))
    return ThrowType(env, "fsUnlinkat: dirfd must be an fd or AT_FDCWD");
  if (!PathArg(info, 1, &name)) return ThrowType(env, "fsUnlinkat: name must be a non-empty string without NUL");
  if (!IntArg(info, 2, 0, AT_REMOVEDIR, &flags) || (flags != 0 && flags != AT_REMOVEDIR))
    return ThrowType(env, "fsUnlinkat: flags must be 0 or AT_REMOVEDIR");
  int r = RetryEintr([&] { return unlinkat(static_cast<int>(dirfd), name.c_str(), static_cast<int>(flags)); });
  if (r != 0) {
    int err = errno;
    std::string call = "unlinkat(" + std::to_string(dirfd) + ", " + Quote(name) + ", flags=" + std::to_string(flags) + ")";
    std::string hint;
    if (err == EISDIR) hint = "a directory needs AT_REMOVEDIR";
    if (err == ENOTEMPTY) hint = "the directory is not empty";
    return ThrowSys(env, CodeForErrno(err), call, err, hint);
  }
  return env.Undefined();
}

Napi::Value Mkdirat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t dirfd, mode;
  std::string name;
  if (!DirfdArg(info, 0, &dirfd))
    return ThrowType(env, "fsMkdirat: dirfd must be an fd or AT_FDCWD");
  if (!PathArg(info, 1, &name)) return ThrowType(env, "fsMkdirat: name must be a non-empty string without NUL");
  if (!IntArg(info, 2, 0, 07777, &mode)) return ThrowType(env, "fsMkdirat: mode must be 0..0o7777");
  int r = RetryEintr([&] { return mkdirat(static_cast<int>(dirfd), name.c_str(), static_cast<mode_t>(mode)); });
  if (r != 0) {
    int err = errno;
    char m[8];
    snprintf(m, sizeof m, "0%llo", static_cast<unsigned long long>(mode));
    std::string call = "mkdirat(" + std::to_string(dirfd) + ", " + Quote(name) + ", " + m + ")";
    std::string hint;
    if (err == EEXIST) hint = "the name exists (mkdirat never follows a symlink there)";
    return ThrowSys(env, CodeForErrno(err), call, err, hint);
  }
  return env.Undefined();
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (!IntArg(info, 0, 0, INT32_MAX, &fd)) return ThrowType(env, "fsFlock: fd must be a file descriptor");
  int r = RetryEintr([&] { return flock(static_cast<int>(fd), LOCK_EX | LOCK_NB); });
  if (r == 0) return Napi::Boolean::New(env, true);
  int err = errno;
  if (err == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  std::string call = "flock(" + std::to_string(fd) + ", LOCK_EX|LOCK_NB)";
  return ThrowSys(env, CodeForErrno(err), call, err, "");
}

Napi::Value SeekData(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, off;
  if (!IntArg(info, 0, 0, INT32_MAX, &fd)) return ThrowType(env, "fsSeekData: fd must be a file descriptor");
  if (!IntArg(info, 1, 0, 9007199254740991.0, &off)) return ThrowType(env, "fsSeekData: offset must be a safe integer >= 0");
  // lseek moves the fd's file position; the callers read with pread, which ignores it.
  off_t r = lseek(static_cast<int>(fd), static_cast<off_t>(off), SEEK_DATA);
  if (r >= 0) return Napi::Number::New(env, static_cast<double>(r));
  int err = errno;
  if (err == ENXIO) return Napi::Number::New(env, -1);
  std::string call = "lseek(" + std::to_string(fd) + ", " + std::to_string(off) + ", SEEK_DATA)";
  return ThrowSys(env, CodeForErrno(err), call, err, "");
}

void InitFs(Napi::Env env, Napi::Object exports) {
  exports.Set("fsOpenat2", Napi::Function::New<Openat2>(env, "fsOpenat2"));
  exports.Set("fsRenameat2", Napi::Function::New<Renameat2>(env, "fsRenameat2"));
  exports.Set("fsFallocate", Napi::Function::New<Fallocate>(env, "fsFallocate"));
  exports.Set("fsUnlinkat", Napi::Function::New<Unlinkat>(env, "fsUnlinkat"));
  exports.Set("fsMkdirat", Napi::Function::New<Mkdirat>(env, "fsMkdirat"));
  exports.Set("fsFlock", Napi::Function::New<Flock>(env, "fsFlock"));
  exports.Set("fsSeekData", Napi::Function::New<SeekData>(env, "fsSeekData"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("AT_FDCWD", AT_FDCWD);
  c.Set("RESOLVE_NO_XDEV", RESOLVE_NO_XDEV);
  c.Set("RESOLVE_NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS);
  c.Set("RESOLVE_NO_SYMLINKS", RESOLVE_NO_SYMLINKS);
  c.Set("RESOLVE_BENEATH", RESOLVE_BENEATH);
  c.Set("RESOLVE_IN_ROOT", RESOLVE_IN_ROOT);
  c.Set("RENAME_NOREPLACE", RENAME_NOREPLACE);
  c.Set("RENAME_EXCHANGE", RENAME_EXCHANGE);
  c.Set("AT_REMOVEDIR", AT_REMOVEDIR);
  c.Set("FALLOC_FL_KEEP_SIZE", FALLOC_FL_KEEP_SIZE);
  c.Set("FALLOC_FL_PUNCH_HOLE", FALLOC_FL_PUNCH_HOLE);
  c.Set("O_RDONLY", O_RDONLY);
  c.Set("O_WRONLY", O_WRONLY);
  c.Set("O_RDWR", O_RDWR);
  c.Set("O_CREAT", O_CREAT);
  c.Set("O_EXCL", O_EXCL);
  c.Set("O_TRUNC", O_TRUNC);
  c.Set("O_DIRECTORY", O_DIRECTORY);
  c.Set("O_NOFOLLOW", O_NOFOLLOW);
  c.Set("O_PATH", O_PATH);
  c.Set("O_CLOEXEC", O_CLOEXEC);
  c.Set("O_DIRECT", O_DIRECT);
  c.Set("O_NONBLOCK", O_NONBLOCK);
  exports.Set("fsConstants", c);
}

WRAITH_REGISTER(InitFs);

}  // namespace
}  // namespace wraith::fs
