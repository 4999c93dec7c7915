// errno -> wraith error code (packages/core/src/errors.ts) for the fs helpers.
#pragma once
#include <cerrno>

namespace wraith::fs {

inline const char* CodeForErrno(int err) {
  switch (err) {
    case ENOSPC: case EDQUOT: return "E_NO_SPACE";
    case EACCES: case EPERM: case EROFS: return "E_PERMISSION";
    case ENOENT: return "E_NOT_FOUND";
    case EEXIST: return "E_EXISTS";
    default: return "E_IO";
  }
}

}  // namespace wraith::fs
