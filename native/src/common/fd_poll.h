// The uv_poll side of a socket that hands received batches to JS from the
// poll callback on Node's main loop (udp/, xdp/). It owns the heap handle,
// the async context those calls run in, and the callback close() was given.
//
// The owner stays alive (ObjectWrap::Ref) while the handle is open and closes
// its fd only in the close callback: libuv removes the fd from epoll on
// close, and by then the number could belong to another file.
#pragma once
#include <napi.h>
#include <uv.h>
#include <initializer_list>
#include <memory>

namespace wraith {

class FdPoll {
 public:
  // Watches fd for UV_READABLE; cb finds `owner` in handle->data. false with
  // a JS exception pending: `code`, "uv_poll_init(<what> fd N): ...".
  bool Start(Napi::Env env, int fd, void* owner, uv_poll_cb cb, const char* code, const char* what,
             const char* resource);

  // From Start until the close callback ran, so a second Start is refused
  // while the old handle is still closing.
  bool open() const { return handle_ != nullptr; }

  // Open and not closing: events are still watched and delivered.
  bool active() const { return handle_ != nullptr && !closing_; }

  // Changes the events watched (UDP adds UV_WRITABLE after EAGAIN). Does
  // nothing once Close() ran: libuv asserts on uv_poll_start of a closing
  // handle.
  void Watch(int events, uv_poll_cb cb) {
    if (active()) uv_poll_start(handle_, events, cb);
  }

  // Stops watching and closes the handle; onClosed runs on a later turn and
  // calls Closed() first and Finish() last. closeCb, when a function, is
  // kept for Finish() (the first one given wins). false when no handle was
  // open: nothing will run. Called again while the handle is closing, it only
  // keeps closeCb and returns true: the onClosed of the first call is the one
  // that runs, once (a second uv_poll_stop/uv_close would abort the process).
  bool Close(uv_close_cb onClosed, Napi::Value closeCb = Napi::Value());

  // Frees the closed handle.
  void Closed() {
    delete handle_;
    handle_ = nullptr;
    closing_ = false;
  }

  // Runs the callback close() was given, if any, and drops the async context.
  void Finish(Napi::Env env, napi_value recv);

  // fn(args) as an event callback: false when it threw, and the exception is
  // then raised as uncaught.
  bool Call(Napi::Env env, const Napi::FunctionReference& fn, napi_value recv,
            std::initializer_list<napi_value> args) {
    fn.MakeCallback(recv, args, *ctx_);
    if (!env.IsExceptionPending()) return true;
    napi_fatal_exception(env, env.GetAndClearPendingException().Value());
    return false;
  }

 private:
  uv_poll_t* handle_ = nullptr;
  bool closing_ = false;  // uv_close called, its callback not run yet
  std::unique_ptr<Napi::AsyncContext> ctx_;
  Napi::FunctionReference closeCb_;
};

}  // namespace wraith
