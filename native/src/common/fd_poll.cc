#include "common/fd_poll.h"

#include <string>

#include "common/errors.h"

namespace wraith {

bool FdPoll::Start(Napi::Env env, int fd, void* owner, uv_poll_cb cb, const char* code, const char* what,
                   const char* resource) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ThrowType(env, "no libuv loop");
    return false;
  }
  auto* h = new uv_poll_t;
  int rc = uv_poll_init(loop, h, fd);
  if (rc != 0) {
    delete h;
    ThrowSys(env, code, std::string("uv_poll_init(") + what + " fd " + std::to_string(fd) + ")", -rc);
    return false;
  }
  h->data = owner;
  rc = uv_poll_start(h, UV_READABLE, cb);
  if (rc != 0) {
    // An initialised handle must go through uv_close before its memory goes.
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete reinterpret_cast<uv_poll_t*>(x); });
    ThrowSys(env, code, std::string("uv_poll_start(") + what + " fd " + std::to_string(fd) + ")", -rc);
    return false;
  }
  handle_ = h;
  ctx_ = std::make_unique<Napi::AsyncContext>(env, resource);
  return true;
}

bool FdPoll::Close(uv_close_cb onClosed, Napi::Value closeCb) {
  if (handle_ == nullptr) return false;
  if (closeCb.IsFunction() && closeCb_.IsEmpty()) closeCb_ = Napi::Persistent(closeCb.As<Napi::Function>());
  if (closing_) return true;
  closing_ = true;
  uv_poll_stop(handle_);
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), onClosed);
  return true;
}

void FdPoll::Finish(Napi::Env env, napi_value recv) {
  if (!closeCb_.IsEmpty()) {
    Napi::FunctionReference cb = std::move(closeCb_);
    Call(env, cb, recv, {});
  }
  ctx_.reset();
}

}  // namespace wraith
