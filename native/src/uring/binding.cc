// UringRing: the JS face of Ring. JS owns all memory: the batch descriptor
// (Float64Array), the completion arrays (Uint32Array ids, Int32Array results)
// and the counters (Float64Array) are allocated in JS and passed in; native
// keeps references. Completions reach JS without blocking the event loop: the
// ring signals an eventfd (IORING_REGISTER_EVENTFD), uv_poll watches it, and
// each wakeup reaps the CQ and calls JS once with the number of completions.
#include <napi.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <uv.h>

#include <cerrno>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/registry.h"
#include "uring/ring.h"

namespace wraith::uring {
namespace {

// One op in the descriptor is kStride doubles.
enum Field : unsigned {
  kOp = 0,        // kernel opcode, from the whitelist below
  kFd = 1,        // fd (dirfd for OPENAT; -100 = AT_FDCWD)
  kOffset = 2,    // file offset (-1 = current position, for streams)
  kLength = 3,    // bytes; FALLOCATE: length; OPENAT: mode
  kBuf = 4,       // index into the bufs array, -1 for none
  kBufOffset = 5, // byte offset inside that view
  kFixed = 6,     // registered buffer index for *_FIXED, else -1
  kFlags = 7,     // OPENAT flags, FSYNC flags, FALLOCATE mode
  kUserData = 8,  // JS id (uint32) echoed in the completion
  kSqeFlags = 9,  // IOSQE_* bits; only IOSQE_ASYNC is allowed
  kStride = 10,
};

enum Counter : unsigned {
  kSqes, kEnters, kCompletions, kReaps, kWakeups, kFixedOps, kOverflowFlushes, kInflight,
  kRegisteredBytes, kRegisteredBuffers, kCounterCount,
};
const char* const kCounterNames[kCounterCount] = {
    "sqes",     "enters",          "completions", "reaps",         "wakeups",
    "fixedOps", "overflowFlushes", "inflight",    "registeredBytes", "registeredBuffers",
};

constexpr uint64_t kCancelTag = ~0ULL;  // user_data of our own cancel SQE
constexpr unsigned kMaxRegistered = 1u << 14;  // IORING_MAX_REG_BUFFERS
constexpr double kMaxLen = 0x7ffff000;         // MAX_RW_COUNT: the kernel's per-call cap
constexpr int kDrainMs = 10000;                // close(): longest wait for in-flight ops

bool IsAllowedOp(unsigned op) {
  switch (op) {
    case IORING_OP_NOP: case IORING_OP_READ: case IORING_OP_WRITE: case IORING_OP_READ_FIXED:
    case IORING_OP_WRITE_FIXED: case IORING_OP_FSYNC: case IORING_OP_FALLOCATE:
    case IORING_OP_OPENAT: case IORING_OP_CLOSE:
      return true;
    default:
      return false;
  }
}

bool IsInt(double v, double lo, double hi) {
  return std::isfinite(v) && std::floor(v) == v && v >= lo && v <= hi;
}

// Raw pointer and length of an ArrayBufferView (TypedArray, Buffer, DataView).
bool ViewBytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length, offset;
    void* p;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &offset) != napi_ok) return false;
    size_t el = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: el = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
      default: break;
    }
    *data = static_cast<uint8_t*>(p);
    *len = length * el;
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    size_t length, offset;
    void* p;
    napi_value ab;
    if (napi_get_dataview_info(env, v, &length, &p, &ab, &offset) != napi_ok) return false;
    *data = static_cast<uint8_t*>(p);
    *len = length;
    return true;
  }
  return false;
}

template <class E>
E* TypedData(Napi::Reference<Napi::TypedArrayOf<E>>& ref, size_t* len) {
  if (ref.IsEmpty()) return nullptr;
  Napi::TypedArrayOf<E> arr = ref.Value();
  *len = arr.ElementLength();
  return arr.Data();
}

struct Slot {
  uint32_t user_data = 0;
  napi_ref buf_ref = nullptr;  // keeps a non-registered buffer alive while the kernel owns it
  bool used = false;
  bool fixed = false;
};

struct Prepared {
  unsigned op;
  int fd;
  uint64_t off;
  uint64_t addr;
  uint32_t len;
  uint32_t flags;
  int fixed;
  uint32_t user_data;
  uint8_t sqe_flags;
  napi_value view;  // null for ops without a buffer and for registered buffers
};

class UringRing : public Napi::ObjectWrap<UringRing> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UringRing",
                       {
                           InstanceMethod<&UringRing::Submit>("submit"),
                           InstanceMethod<&UringRing::RegisterBuffers>("registerBuffers"),
                           InstanceMethod<&UringRing::UnregisterBuffers>("unregisterBuffers"),
                           InstanceMethod<&UringRing::Close>("close"),
                           InstanceMethod<&UringRing::Info>("info"),
                       });
  }

  // new UringRing({ entries, cqEntries, onComplete, doneIds, doneResults, counters })
  explicit UringRing(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UringRing>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      ThrowType(env, "UringRing(options): options must be an object");
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Value entries = o.Get("entries"), cq = o.Get("cqEntries"), cb = o.Get("onComplete");
    Napi::Value ids = o.Get("doneIds"), res = o.Get("doneResults"), ctr = o.Get("counters");
    if (!entries.IsNumber() || !IsInt(entries.As<Napi::Number>().DoubleValue(), 1, 4096)) {
      ThrowType(env, "UringRing: entries must be an integer in 1..4096");
      return;
    }
    if (!cq.IsNumber() || !IsInt(cq.As<Napi::Number>().DoubleValue(), 1, 65536)) {
      ThrowType(env, "UringRing: cqEntries must be an integer in 1..65536");
      return;
    }
    if (!cb.IsFunction()) {
      ThrowType(env, "UringRing: onComplete must be a function");
      return;
    }
    if (!ids.IsTypedArray() || ids.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
        !res.IsTypedArray() || res.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      ThrowType(env, "UringRing: doneIds must be a Uint32Array and doneResults an Int32Array");
      return;
    }
    if (!ctr.IsTypedArray() || ctr.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        ctr.As<Napi::TypedArray>().ElementLength() < kCounterCount) {
      ThrowType(env, "UringRing: counters must be a Float64Array of at least " +
                         std::to_string(kCounterCount) + " elements");
      return;
    }
    size_t cap = ids.As<Napi::Uint32Array>().ElementLength();
    if (res.As<Napi::Int32Array>().ElementLength() < cap) cap = res.As<Napi::Int32Array>().ElementLength();
    if (cap == 0) {
      ThrowType(env, "UringRing: doneIds/doneResults must not be empty");
      return;
    }

    std::string what;
    int err = ring_.Init(entries.As<Napi::Number>().Uint32Value(), cq.As<Napi::Number>().Uint32Value(), &what);
    if (err != 0) {
      ThrowSys(env, "E_IO_URING_UNAVAILABLE", what, err, SetupHint(err));
      return;
    }
    efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd_ < 0) {
      int e = errno;
      ring_.Destroy();
      ThrowSys(env, "E_IO_URING_UNAVAILABLE", "eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC)", e);
      return;
    }
    if (SysRegister(ring_.fd(), IORING_REGISTER_EVENTFD, &efd_, 1) < 0) {
      int e = errno;
      Undo();
      ThrowSys(env, "E_IO_URING_UNAVAILABLE", "io_uring_register(IORING_REGISTER_EVENTFD)", e);
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Undo();
      ThrowSys(env, "E_IO_URING_UNAVAILABLE", "napi_get_uv_event_loop", EINVAL, "no libuv loop");
      return;
    }
    poll_ = new uv_poll_t;
    int uerr = uv_poll_init(loop, poll_, efd_);
    if (uerr == 0) {
      poll_->data = this;
      uerr = uv_poll_start(poll_, UV_READABLE, &UringRing::OnPoll);
      if (uerr != 0) ClosePoll();
    } else {
      delete poll_;
      poll_ = nullptr;
    }
    if (uerr != 0) {
      Undo();
      ThrowSys(env, "E_IO_URING_UNAVAILABLE", "uv_poll_start(eventfd)", -uerr);
      return;
    }
    // An idle ring must not keep the process alive; in-flight ops do (uv_ref).
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));

    // One slot per CQ entry: never more ops in flight than the CQ holds.
    size_t nslots = ring_.cq_entries();
    if (cap < nslots) nslots = cap;
    slots_.resize(nslots);
    free_.reserve(nslots);
    for (size_t i = nslots; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
    cqes_.resize(nslots);

    on_complete_ = Napi::Persistent(cb.As<Napi::Function>());
    done_ids_ = Napi::Persistent(ids.As<Napi::Uint32Array>());
    done_res_ = Napi::Persistent(res.As<Napi::Int32Array>());
    counters_ = Napi::Persistent(ctr.As<Napi::Float64Array>());
    async_ = std::make_unique<Napi::AsyncContext>(env, "wraith.uring");
    open_ = true;
  }

  ~UringRing() override {
    // Finalized only when idle (in-flight ops hold a reference to this object).
    if (poll_ != nullptr) ClosePoll();
    if (efd_ >= 0) close(efd_);
    ring_.Destroy();
  }

 private:
  static std::string SetupHint(int err) {
    switch (err) {
      case ENOSYS: return "the kernel has no io_uring (CONFIG_IO_URING=n)";
      case EPERM: return "io_uring is blocked: kernel.io_uring_disabled, seccomp or an LSM";
      case ENOMEM: return "not enough locked memory for the ring (RLIMIT_MEMLOCK on kernels < 5.12)";
      case EMFILE: case ENFILE: return "too many open files";
      default: return "";
    }
  }

  void ClosePoll() {
    uv_poll_stop(poll_);
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }

  // Undoes a partial construction.
  void Undo() {
    if (poll_ != nullptr) ClosePoll();
    if (efd_ >= 0) close(efd_);
    efd_ = -1;
    ring_.Destroy();
  }

  double* Counters() {
    size_t n = 0;
    double* c = TypedData(counters_, &n);
    return n >= kCounterCount ? c : nullptr;
  }
  void Bump(Counter c, double by = 1) {
    if (double* p = Counters()) p[c] += by;
  }
  void SetGauges() {
    if (double* p = Counters()) {
      p[kInflight] = inflight_;
      double bytes = 0;
      for (const iovec& v : fixed_iov_) bytes += static_cast<double>(v.iov_len);
      p[kRegisteredBytes] = bytes;
      p[kRegisteredBuffers] = static_cast<double>(fixed_iov_.size());
    }
  }

  bool CheckOpen(Napi::Env env, const char* fn) {
    if (open_) return true;
    ThrowSys(env, "E_IO", std::string("UringRing.") + fn, EBADF, "the ring is closed");
    return false;
  }

  void Track(bool on) {
    // In-flight ops keep the loop alive and this object reachable.
    if (on && !tracked_) {
      tracked_ = true;
      Ref();
      if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    } else if (!on && tracked_) {
      tracked_ = false;
      if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
      Unref();
    }
  }

  void FreeSlot(napi_env env, uint32_t i) {
    Slot& s = slots_[i];
    if (s.buf_ref != nullptr) napi_delete_reference(env, s.buf_ref);
    if (s.fixed) inflight_fixed_--;
    s = Slot{};
    free_.push_back(i);
    inflight_--;
  }

  // Checks one op of the descriptor; on failure throws and returns false.
  bool Prepare(Napi::Env env, const double* d, unsigned i, Napi::Array bufs, Prepared* out) {
    auto bad = [&](const std::string& m) {
      ThrowType(env, "UringRing.submit: op " + std::to_string(i) + ": " + m);
      return false;
    };
    double op = d[kOp];
    if (!IsInt(op, 0, 255) || !IsAllowedOp(static_cast<unsigned>(op))) return bad("opcode not allowed");
    out->op = static_cast<unsigned>(op);
    bool dirfd_ok = out->op == IORING_OP_OPENAT && d[kFd] == AT_FDCWD;
    if (!dirfd_ok && !IsInt(d[kFd], 0, 0x7fffffff) && out->op != IORING_OP_NOP) return bad("bad fd");
    out->fd = static_cast<int>(d[kFd]);
    if (!IsInt(d[kUserData], 0, 4294967295.0)) return bad("userData must be a uint32");
    out->user_data = static_cast<uint32_t>(d[kUserData]);
    if (!IsInt(d[kFlags], 0, 4294967295.0)) return bad("flags must be a uint32");
    out->flags = static_cast<uint32_t>(d[kFlags]);
    // IOSQE_ASYNC (punt to io-wq) only: links, drains and fixed files would
    // change what a slot means.
    if (!IsInt(d[kSqeFlags], 0, 255) || (static_cast<unsigned>(d[kSqeFlags]) & ~IOSQE_ASYNC) != 0)
      return bad("sqeFlags: only IOSQE_ASYNC is allowed");
    out->sqe_flags = static_cast<uint8_t>(d[kSqeFlags]);
    out->off = 0;
    out->addr = 0;
    out->len = 0;
    out->fixed = -1;
    out->view = nullptr;

    switch (out->op) {
      case IORING_OP_READ: case IORING_OP_WRITE: case IORING_OP_READ_FIXED: case IORING_OP_WRITE_FIXED: {
        if (d[kOffset] != -1 && !IsInt(d[kOffset], 0, 9007199254740991.0)) return bad("bad offset");
        out->off = d[kOffset] == -1 ? ~0ULL : static_cast<uint64_t>(d[kOffset]);
        if (!IsInt(d[kLength], 0, kMaxLen)) return bad("length must be 0..0x7ffff000");
        out->len = static_cast<uint32_t>(d[kLength]);
        if (!IsInt(d[kBuf], 0, static_cast<double>(bufs.Length()) - 1)) return bad("buffer index out of range");
        napi_value v = bufs.Get(static_cast<uint32_t>(d[kBuf]));
        uint8_t* data;
        size_t len;
        if (!ViewBytes(env, v, &data, &len)) return bad("buffer is not an ArrayBufferView");
        if (!IsInt(d[kBufOffset], 0, static_cast<double>(len)) || d[kBufOffset] + out->len > len)
          return bad("bufOffset + length exceeds the buffer");
        out->addr = reinterpret_cast<uint64_t>(data + static_cast<size_t>(d[kBufOffset]));
        bool fixed = out->op == IORING_OP_READ_FIXED || out->op == IORING_OP_WRITE_FIXED;
        if (fixed) {
          if (!IsInt(d[kFixed], 0, static_cast<double>(fixed_iov_.size()) - 1))
            return bad("registered buffer index out of range");
          out->fixed = static_cast<int>(d[kFixed]);
          const iovec& iv = fixed_iov_[out->fixed];
          uint64_t lo = reinterpret_cast<uint64_t>(iv.iov_base);
          if (out->addr < lo || out->addr + out->len > lo + iv.iov_len)
            return bad("range is outside registered buffer " + std::to_string(out->fixed));
        } else {
          out->view = v;  // referenced while in flight
        }
        return true;
      }
      case IORING_OP_FSYNC:
        if (out->flags & ~IORING_FSYNC_DATASYNC) return bad("fsync flags");
        return true;
      case IORING_OP_FALLOCATE:
        if (!IsInt(d[kOffset], 0, 9007199254740991.0) || !IsInt(d[kLength], 1, 9007199254740991.0))
          return bad("fallocate offset/length");
        out->off = static_cast<uint64_t>(d[kOffset]);
        out->addr = static_cast<uint64_t>(d[kLength]);  // the kernel reads len from sqe->addr
        return true;
      case IORING_OP_OPENAT: {
        if (!IsInt(d[kLength], 0, 07777)) return bad("mode must be 0..07777");
        out->len = static_cast<uint32_t>(d[kLength]);
        if (!IsInt(d[kBuf], 0, static_cast<double>(bufs.Length()) - 1)) return bad("path buffer index out of range");
        napi_value v = bufs.Get(static_cast<uint32_t>(d[kBuf]));
        uint8_t* data;
        size_t len;
        if (!ViewBytes(env, v, &data, &len)) return bad("path is not an ArrayBufferView");
        size_t nul = 0;
        while (nul < len && data[nul] != 0) nul++;
        if (nul == 0 || nul == len) return bad("path must be non-empty and NUL-terminated");
        out->addr = reinterpret_cast<uint64_t>(data);
        out->view = v;
        return true;
      }
      case IORING_OP_CLOSE:
      case IORING_OP_NOP:
        return true;
      default:
        return bad("opcode not allowed");
    }
  }

  static void Fill(io_uring_sqe* sqe, const Prepared& p, uint32_t slot) {
    sqe->opcode = static_cast<uint8_t>(p.op);
    sqe->flags = p.sqe_flags;
    sqe->fd = p.fd;
    sqe->off = p.off;
    sqe->addr = p.addr;
    sqe->len = p.len;
    sqe->user_data = slot;
    switch (p.op) {
      case IORING_OP_FSYNC: sqe->fsync_flags = p.flags; break;
      case IORING_OP_FALLOCATE: sqe->len = p.flags; break;  // mode travels in len
      case IORING_OP_OPENAT: sqe->open_flags = p.flags; break;
      case IORING_OP_READ_FIXED: case IORING_OP_WRITE_FIXED: sqe->buf_index = static_cast<uint16_t>(p.fixed); break;
      default: break;
    }
  }

  // submit(desc: Float64Array, count, bufs: ArrayBufferView[]) -> accepted
  // Every op is checked before any SQE is written. Ops beyond the free slots
  // are not accepted (the caller queues them). All accepted ops are published
  // with one io_uring_enter per SQ-full of entries.
  Napi::Value Submit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "submit")) return env.Undefined();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      return ThrowType(env, "UringRing.submit: desc must be a Float64Array");
    Napi::Float64Array desc = info[0].As<Napi::Float64Array>();
    if (!info[1].IsNumber()) return ThrowType(env, "UringRing.submit: count must be a number");
    double cnt = info[1].As<Napi::Number>().DoubleValue();
    if (!IsInt(cnt, 0, static_cast<double>(desc.ElementLength() / kStride)))
      return ThrowType(env, "UringRing.submit: count exceeds the descriptor");
    if (!info[2].IsArray()) return ThrowType(env, "UringRing.submit: bufs must be an array");
    Napi::Array bufs = info[2].As<Napi::Array>();
    unsigned count = static_cast<unsigned>(cnt);
    unsigned accept = count < free_.size() ? count : static_cast<unsigned>(free_.size());

    prepared_.resize(accept);
    const double* d = desc.Data();
    for (unsigned i = 0; i < accept; i++) {
      if (!Prepare(env, d + i * kStride, i, bufs, &prepared_[i])) return env.Undefined();
    }

    unsigned accepted = 0;
    int err = 0;
    unsigned i = 0;
    while (i < accept && err == 0) {
      unsigned batch = 0;
      for (; i < accept; i++) {
        io_uring_sqe* sqe = ring_.Reserve();
        if (sqe == nullptr) break;
        const Prepared& p = prepared_[i];
        uint32_t slot = free_.back();
        free_.pop_back();
        Slot& s = slots_[slot];
        s.used = true;
        s.user_data = p.user_data;
        s.fixed = p.fixed >= 0;
        if (s.fixed) inflight_fixed_++;
        if (p.view != nullptr) napi_create_reference(env, p.view, 1, &s.buf_ref);
        inflight_++;
        Fill(sqe, p, slot);
        batch++;
      }
      int ret = ring_.Submit();
      Bump(kEnters);
      if (ret < 0) err = -ret;
      unsigned consumed = ret < 0 ? 0 : static_cast<unsigned>(ret);
      // Take back what the kernel did not consume; it is reported as not accepted.
      unsigned back = ring_.Unreserve([&](io_uring_sqe* sqe) { FreeSlot(env, static_cast<uint32_t>(sqe->user_data)); });
      if (back > 0 && err == 0) err = EAGAIN;
      consumed = batch - back;
      accepted += consumed;
      Bump(kSqes, consumed);
      for (unsigned k = 0; k < consumed; k++)
        if (prepared_[i - batch + k].fixed >= 0) Bump(kFixedOps);
      if (back > 0) break;
    }
    if (inflight_ > 0) Track(true);
    SetGauges();
    if (accepted == 0 && err != 0 && !((err == EAGAIN || err == EBUSY) && inflight_ > 0)) {
      return ThrowSys(env, "E_IO", "io_uring_enter(to_submit=" + std::to_string(accept) + ")", err,
                      "the kernel refused the batch");
    }
    return Napi::Number::New(env, accepted);
  }

  // Moves up to max ready CQEs into the JS arrays, freeing their slots.
  unsigned Collect(napi_env env, uint32_t* ids, int32_t* res, unsigned max) {
    if (ring_.CqOverflowPending()) {
      ring_.FlushOverflow();
      Bump(kEnters);
      Bump(kOverflowFlushes);
    }
    unsigned got = ring_.Peek(cqes_.data(), static_cast<unsigned>(cqes_.size()));
    unsigned n = 0, used = 0;
    for (; used < got && n < max; used++) {
      io_uring_cqe* c = cqes_[used];
      if (c->user_data == kCancelTag) continue;
      uint32_t slot = static_cast<uint32_t>(c->user_data);
      if (slot >= slots_.size() || !slots_[slot].used) continue;  // cannot happen; never trust blindly
      ids[n] = slots_[slot].user_data;
      res[n] = c->res;
      n++;
      FreeSlot(env, slot);
    }
    ring_.Release(used);
    Bump(kCompletions, n);
    return n;
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<UringRing*>(h->data);
    if (self != nullptr) self->Reap();
  }

  void Reap() {
    if (!open_) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    uint64_t v;
    // Clear the eventfd before reaping: a CQE posted after this read signals
    // it again, so nothing is missed between the read and the reap below.
    while (read(efd_, &v, sizeof v) < 0 && errno == EINTR) {
    }
    Bump(kWakeups);
    // A few rounds at most: completions that arrive meanwhile signal the eventfd
    // again, so bounding the loop never loses them and never starves the loop.
    for (int round = 0; round < 4 && open_; round++) {
      size_t nids = 0, nres = 0;
      uint32_t* ids = TypedData(done_ids_, &nids);
      int32_t* res = TypedData(done_res_, &nres);
      if (ids == nullptr || res == nullptr) return;
      unsigned max = static_cast<unsigned>(nids < nres ? nids : nres);
      unsigned n = Collect(env, ids, res, max);
      SetGauges();
      if (n == 0) break;
      Bump(kReaps);
      in_callback_ = true;
      on_complete_.MakeCallback(env.Global(), {Napi::Number::New(env, n)}, *async_);
      in_callback_ = false;
      if (env.IsExceptionPending()) {
        Napi::Error e = env.GetAndClearPendingException();
        napi_fatal_exception(env, e.Value());
      }
    }
    if (!open_) {
      on_complete_.Reset();
      async_.reset();
      return;
    }
    if (inflight_ == 0) Track(false);
  }

  // registerBuffers(views: ArrayBufferView[]): registers them as fixed buffers
  // 0..n-1 and keeps references until unregisterBuffers() or close().
  Napi::Value RegisterBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "registerBuffers")) return env.Undefined();
    if (!fixed_iov_.empty())
      return ThrowSys(env, "E_IO", "io_uring_register(IORING_REGISTER_BUFFERS)", EBUSY,
                      "buffers are already registered; unregister first");
    if (!info[0].IsArray()) return ThrowType(env, "registerBuffers: expected an array of views");
    Napi::Array arr = info[0].As<Napi::Array>();
    uint32_t n = arr.Length();
    if (n == 0 || n > kMaxRegistered) return ThrowType(env, "registerBuffers: 1..16384 buffers");
    std::vector<iovec> iov(n);
    double total = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint8_t* data;
      size_t len;
      if (!ViewBytes(env, arr.Get(i), &data, &len) || len == 0 || len > (1u << 30))
        return ThrowType(env, "registerBuffers: buffer " + std::to_string(i) + " must be a view of 1 B..1 GiB");
      iov[i].iov_base = data;
      iov[i].iov_len = len;
      total += static_cast<double>(len);
    }
    if (SysRegister(ring_.fd(), IORING_REGISTER_BUFFERS, iov.data(), n) < 0) {
      int e = errno;
      std::string hint = e == ENOMEM ? "registered buffers are locked memory: they must fit RLIMIT_MEMLOCK without CAP_IPC_LOCK"
                                     : "";
      return ThrowSys(env, "E_IO", "io_uring_register(IORING_REGISTER_BUFFERS, nr=" + std::to_string(n) +
                      ", bytes=" + std::to_string(static_cast<uint64_t>(total)) + ")", e, hint);
    }
    fixed_iov_ = std::move(iov);
    fixed_refs_.resize(n);
    for (uint32_t i = 0; i < n; i++) napi_create_reference(env, arr.Get(i), 1, &fixed_refs_[i]);
    SetGauges();
    return env.Undefined();
  }

  void DropFixedRefs(napi_env env) {
    for (napi_ref r : fixed_refs_) napi_delete_reference(env, r);
    fixed_refs_.clear();
    fixed_iov_.clear();
  }

  Napi::Value UnregisterBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "unregisterBuffers")) return env.Undefined();
    if (fixed_iov_.empty()) return env.Undefined();
    if (inflight_fixed_ > 0)
      return ThrowSys(env, "E_IO", "io_uring_register(IORING_UNREGISTER_BUFFERS)", EBUSY,
                      std::to_string(inflight_fixed_) + " ops still use registered buffers");
    if (SysRegister(ring_.fd(), IORING_UNREGISTER_BUFFERS, nullptr, 0) < 0)
      return ThrowSys(env, "E_IO", "io_uring_register(IORING_UNREGISTER_BUFFERS)", errno);
    DropFixedRefs(env);
    SetGauges();
    return env.Undefined();
  }

  // close() -> n: cancels in-flight ops, waits for them (up to kDrainMs), writes
  // their completions into the done arrays and returns how many; onComplete is
  // never called again. Ops that outlive the wait keep their buffers referenced
  // forever (a leak, never a use-after-free); `undrained` in info() counts them.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_) return Napi::Number::New(env, 0);
    open_ = false;
    if (poll_ != nullptr) ClosePoll();
    size_t nids = 0, nres = 0;
    uint32_t* ids = TypedData(done_ids_, &nids);
    int32_t* res = TypedData(done_res_, &nres);
    unsigned max = ids && res ? static_cast<unsigned>(nids < nres ? nids : nres) : 0;
    unsigned n = 0;
    if (inflight_ > 0) {
      if (io_uring_sqe* sqe = ring_.Reserve()) {
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->fd = -1;
        sqe->cancel_flags = IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY;
        sqe->user_data = kCancelTag;
        ring_.Submit();
        Bump(kEnters);
      }
      uint64_t start = uv_hrtime();
      while (inflight_ > 0) {
        n += Collect(env, ids + n, res + n, max - n);
        if (inflight_ == 0 || n >= max) break;
        if ((uv_hrtime() - start) / 1000000 > kDrainMs) break;
        ring_.Wait(100);
        Bump(kEnters);
      }
    }
    undrained_ = inflight_;
    if (undrained_ == 0) {
      DropFixedRefs(env);
    } else {
      // Leave the kernel's view of the buffers intact: never unregister or
      // free memory an op may still write into.
      fixed_refs_.clear();
      fixed_iov_.clear();
      for (Slot& s : slots_) s.buf_ref = nullptr;
    }
    SetGauges();
    if (efd_ >= 0) close(efd_);
    efd_ = -1;
    ring_.Destroy();
    // Inside onComplete the callback and its async context are still in use;
    // Reap() releases them when the callback returns.
    if (!in_callback_) {
      on_complete_.Reset();
      async_.reset();
    }
    if (tracked_) {
      tracked_ = false;
      Unref();
    }
    return Napi::Number::New(env, n);
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("open", open_);
    o.Set("sqEntries", ring_.sq_entries());
    o.Set("cqEntries", ring_.cq_entries());
    o.Set("slots", static_cast<double>(slots_.size()));
    o.Set("features", ring_.features());
    o.Set("setupFlags", ring_.setup_flags());
    o.Set("inflight", inflight_);
    o.Set("undrained", undrained_);
    return o;
  }

  Ring ring_;
  int efd_ = -1;
  uv_poll_t* poll_ = nullptr;
  bool open_ = false;
  bool tracked_ = false;
  bool in_callback_ = false;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<io_uring_cqe*> cqes_;
  std::vector<Prepared> prepared_;
  unsigned inflight_ = 0;
  unsigned inflight_fixed_ = 0;
  unsigned undrained_ = 0;
  std::vector<iovec> fixed_iov_;
  std::vector<napi_ref> fixed_refs_;
  Napi::FunctionReference on_complete_;
  Napi::Reference<Napi::Uint32Array> done_ids_;
  Napi::Reference<Napi::Int32Array> done_res_;
  Napi::Reference<Napi::Float64Array> counters_;
  std::unique_ptr<Napi::AsyncContext> async_;
};

void InitUring(Napi::Env env, Napi::Object exports) {
  exports.Set("UringRing", UringRing::Define(env));
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("NOP", static_cast<double>(IORING_OP_NOP));
  ops.Set("READ", static_cast<double>(IORING_OP_READ));
  ops.Set("WRITE", static_cast<double>(IORING_OP_WRITE));
  ops.Set("READ_FIXED", static_cast<double>(IORING_OP_READ_FIXED));
  ops.Set("WRITE_FIXED", static_cast<double>(IORING_OP_WRITE_FIXED));
  ops.Set("FSYNC", static_cast<double>(IORING_OP_FSYNC));
  ops.Set("FALLOCATE", static_cast<double>(IORING_OP_FALLOCATE));
  ops.Set("OPENAT", static_cast<double>(IORING_OP_OPENAT));
  ops.Set("CLOSE", static_cast<double>(IORING_OP_CLOSE));
  exports.Set("uringOps", ops);
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("stride", static_cast<double>(kStride));
  layout.Set("op", static_cast<double>(kOp));
  layout.Set("fd", static_cast<double>(kFd));
  layout.Set("offset", static_cast<double>(kOffset));
  layout.Set("length", static_cast<double>(kLength));
  layout.Set("buf", static_cast<double>(kBuf));
  layout.Set("bufOffset", static_cast<double>(kBufOffset));
  layout.Set("fixed", static_cast<double>(kFixed));
  layout.Set("flags", static_cast<double>(kFlags));
  layout.Set("userData", static_cast<double>(kUserData));
  layout.Set("sqeFlags", static_cast<double>(kSqeFlags));
  layout.Set("IOSQE_ASYNC", static_cast<double>(IOSQE_ASYNC));
  exports.Set("uringDescLayout", layout);
  Napi::Array names = Napi::Array::New(env, kCounterCount);
  for (unsigned i = 0; i < kCounterCount; i++) names.Set(i, kCounterNames[i]);
  exports.Set("uringCounterNames", names);
}

WRAITH_REGISTER(InitUring);

}  // namespace
}  // namespace wraith::uring
