// One AF_XDP socket with its own UMEM, bound to one RX queue. rx() copies
// whole frames out of UMEM into a JS buffer and gives the UMEM frames
// straight back to the fill ring. Two TX paths: tx() copies headers and
// payloads from JS into free UMEM frames; or JS borrows free frames
// (txLend), builds and seals datagrams in them through txArea(), and
// txSubmit() queues them where they are. Both fill in UDP checksums. One
// call moves a whole batch.
#include <napi.h>
#include <uv.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpf/exports.h"
#include "common/errors.h"
#include "common/fd_poll.h"
#include "xdp/args.h"
#include "xdp/csum.h"
#include "xdp/ring.h"
#include "xdp/umem.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9  // newer than the installed uapi headers
#endif

namespace wraith::xdp {
namespace {

constexpr const char* kUnavailable = "E_XDP_UNAVAILABLE";
// sendto() kicks per tx() before leaving the rest to a later kick.
constexpr int kMaxKicks = 4;

// The kernel's struct as of 6.8 (tx_metadata_len); the 6.1 header lacks the
// last field but has the same size, so the padding must be zero.
struct UmemReg {
  uint64_t addr;
  uint64_t len;
  uint32_t chunkSize;
  uint32_t headroom;
  uint32_t flags;
  uint32_t txMetadataLen;
};
static_assert(sizeof(UmemReg) == 32, "xdp_umem_reg layout");

struct Counters {
  double rxPackets = 0, rxBytes = 0, txPackets = 0, txBytes = 0;
  double rxBadDescs = 0;     // descriptors outside the UMEM (never expected)
  double rxTruncated = 0;    // frames longer than the JS slot
  double txNoFrames = 0;     // tx() stopped early: no free frame or TX slot
  double txLent = 0, txSubmitted = 0;  // frames lent to JS, and queued from there
  double txBadCompletions = 0;         // completions for frames not queued (never expected)
  double txKicks = 0, txKickAgain = 0, txKickDropped = 0, txKickErrors = 0;
  double fillWakeups = 0;
  double pollWakeups = 0;    // readable events from uv_poll
  double pollErrors = 0;
  int lastKickErrno = 0;
};

class XskSocket : public Napi::ObjectWrap<XskSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "XskSocket",
                       {
                           InstanceMethod<&XskSocket::Bind>("bind"),
                           InstanceMethod<&XskSocket::Rx>("rx"),
                           InstanceMethod<&XskSocket::Tx>("tx"),
                           InstanceMethod<&XskSocket::TxArea>("txArea"),
                           InstanceMethod<&XskSocket::TxLend>("txLend"),
                           InstanceMethod<&XskSocket::TxSubmit>("txSubmit"),
                           InstanceMethod<&XskSocket::Reclaim>("reclaim"),
                           InstanceMethod<&XskSocket::KickJs>("kick"),
                           InstanceMethod<&XskSocket::Stats>("stats"),
                           InstanceMethod<&XskSocket::StartPoll>("startPoll"),
                           InstanceMethod<&XskSocket::StopPoll>("stopPoll"),
                           InstanceMethod<&XskSocket::Close>("close"),
                           InstanceAccessor<&XskSocket::GetFd>("fd"),
                           InstanceAccessor<&XskSocket::GetInfo>("info"),
                       });
  }

  // new XskSocket({ringSize, frames, frameSize, hugePages, numaNode})
  explicit XskSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<XskSocket>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      ThrowType(env, "XskSocket options must be an object");
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    int64_t ring, frames, frameSize, numa;
    if (!args::GetOptInt(o, "ringSize", 64, 16384, 2048, &ring) || !args::GetOptInt(o, "frames", 128, 1 << 20, 4096, &frames) ||
        !args::GetOptInt(o, "frameSize", 2048, 4096, 2048, &frameSize) || !args::GetOptInt(o, "numaNode", -1, 63, -1, &numa))
      return;
    if ((ring & (ring - 1)) != 0) {
      ThrowType(env, "ringSize = " + std::to_string(ring) + " must be a power of two");
      return;
    }
    // The kernel accepts only 2048 or 4096 byte chunks here (PLATFORM.md).
    if (frameSize != 2048 && frameSize != 4096) {
      ThrowType(env, "frameSize = " + std::to_string(frameSize) + " must be 2048 or 4096");
      return;
    }
    bool huge = o.Get("hugePages").ToBoolean().Value();
    ringSize_ = static_cast<uint32_t>(ring);
    frameSize_ = static_cast<uint32_t>(frameSize);
    frames_ = static_cast<uint32_t>(frames);
    // Half the frames feed the fill ring, half the TX path; neither share may
    // exceed its ring, so the fill and completion rings can never overflow.
    rxFrames_ = std::min<uint32_t>(ringSize_, frames_ / 2);
    txFrames_ = std::min<uint32_t>(ringSize_, frames_ - rxFrames_);

    std::string where;
    int err = Init(huge, static_cast<int>(numa), &where);
    if (err != 0) {
      Teardown();  // undoes whatever part of Init succeeded
      std::string hint = err == EPERM ? "needs CAP_NET_RAW (and CAP_IPC_LOCK or a memlock limit above the UMEM size)"
                         : err == ENOMEM || err == ENOBUFS ? "raise the memlock limit (ulimit -l) or grant CAP_IPC_LOCK"
                         : err == EAFNOSUPPORT ? "the kernel lacks CONFIG_XDP_SOCKETS"
                                               : "";
      ThrowSys(env, kUnavailable, where, err, hint);
    }
  }

  ~XskSocket() override { Teardown(); }

 private:
  int Init(bool huge, int numa, std::string* where) {
    int err = umem_.Alloc(static_cast<size_t>(frames_) * frameSize_, huge, numa, where);
    if (err) return err;
    fd_ = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return *where = "socket(AF_XDP, SOCK_RAW)", errno;

    UmemReg reg;
    std::memset(&reg, 0, sizeof(reg));
    reg.addr = reinterpret_cast<uintptr_t>(umem_.base);
    reg.len = umem_.len;
    reg.chunkSize = frameSize_;
    if (setsockopt(fd_, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)) < 0)
      return *where = "setsockopt(XDP_UMEM_REG, len=" + std::to_string(umem_.len) + ", chunk=" + std::to_string(frameSize_) + ")", errno;

    const struct {
      int opt;
      const char* name;
    } sizes[] = {{XDP_UMEM_FILL_RING, "XDP_UMEM_FILL_RING"},
                 {XDP_UMEM_COMPLETION_RING, "XDP_UMEM_COMPLETION_RING"},
                 {XDP_RX_RING, "XDP_RX_RING"},
                 {XDP_TX_RING, "XDP_TX_RING"}};
    for (const auto& s : sizes) {
      if (setsockopt(fd_, SOL_XDP, s.opt, &ringSize_, sizeof(ringSize_)) < 0)
        return *where = std::string("setsockopt(") + s.name + ", " + std::to_string(ringSize_) + ")", errno;
    }

    struct xdp_mmap_offsets off;
    std::memset(&off, 0, sizeof(off));
    socklen_t optlen = sizeof(off);
    if (getsockopt(fd_, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) < 0) return *where = "getsockopt(XDP_MMAP_OFFSETS)", errno;

    if ((err = MapRing(&fill_, off.fr, XDP_UMEM_PGOFF_FILL_RING, sizeof(uint64_t), "fill", where))) return err;
    if ((err = MapRing(&comp_, off.cr, XDP_UMEM_PGOFF_COMPLETION_RING, sizeof(uint64_t), "completion", where))) return err;
    if ((err = MapRing(&rx_, off.rx, XDP_PGOFF_RX_RING, sizeof(struct xdp_desc), "rx", where))) return err;
    if ((err = MapRing(&tx_, off.tx, XDP_PGOFF_TX_RING, sizeof(struct xdp_desc), "tx", where))) return err;
    // Producer rings start with every slot free (see ProdRing::Free).
    fill_.cachedCons = ringSize_;
    tx_.cachedCons = ringSize_;

    // TX frames live after the RX ones; the free list is a stack.
    freeTx_.reserve(txFrames_);
    for (uint32_t i = 0; i < txFrames_; i++) freeTx_.push_back(static_cast<uint64_t>(rxFrames_ + i) * frameSize_);
    txState_.assign(txFrames_, kTxFree);
    lent_.reserve(txFrames_);
    return 0;
  }

  int MapRing(RingBase* r, const struct xdp_ring_offset& o, off_t pgoff, size_t entry, const char* name, std::string* where) {
    size_t len = o.desc + static_cast<size_t>(ringSize_) * entry;
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, pgoff);
    if (p == MAP_FAILED) return *where = std::string("mmap(") + name + " ring, " + std::to_string(len) + " bytes)", errno;
    auto* b = static_cast<uint8_t*>(p);
    r->map = p;
    r->mapLen = len;
    r->producer = reinterpret_cast<uint32_t*>(b + o.producer);
    r->consumer = reinterpret_cast<uint32_t*>(b + o.consumer);
    r->flags = reinterpret_cast<uint32_t*>(b + o.flags);
    r->ring = b + o.desc;
    r->size = ringSize_;
    r->mask = ringSize_ - 1;
    return 0;
  }

  // Undoes a full or partial Init, in reverse order. Safe to call twice.
  void Teardown() {
    if (fd_ >= 0) {
      close(fd_);  // unbinds, leaves the XSKMAP, unpins the UMEM
      fd_ = -1;
    }
    for (RingBase* r : {static_cast<RingBase*>(&tx_), static_cast<RingBase*>(&rx_), static_cast<RingBase*>(&comp_),
                        static_cast<RingBase*>(&fill_)}) {
      if (r->map) munmap(r->map, r->mapLen);
      r->map = nullptr;
      r->ring = nullptr;
    }
    umem_.Free();
    bound_ = false;
  }

  bool Usable(Napi::Env env) {
    if (fd_ < 0 || closing_) {
      ThrowSys(env, kUnavailable, "xsk", EBADF, "the socket is closed");
      return false;
    }
    return true;
  }

  // bind(ifindex, queue, 'zerocopy'|'copy'): throws with `errno` set, so JS can
  // fall back from zero-copy and retry EBUSY after a recent close.
  Napi::Value Bind(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    int64_t ifindex, queue;
    if (!args::GetInt(info, 0, "ifindex", 1, INT32_MAX, &ifindex) || !args::GetInt(info, 1, "queue", 0, 65535, &queue))
      return env.Undefined();
    if (info.Length() < 3 || !info[2].IsString()) return ThrowType(env, "mode must be 'zerocopy' or 'copy'");
    std::string mode = info[2].As<Napi::String>().Utf8Value();
    if (mode != "zerocopy" && mode != "copy") return ThrowType(env, "mode must be 'zerocopy' or 'copy', got '" + mode + "'");
    if (bound_) return ThrowType(env, "the socket is already bound");

    struct sockaddr_xdp sxdp;
    std::memset(&sxdp, 0, sizeof(sxdp));
    sxdp.sxdp_family = AF_XDP;
    sxdp.sxdp_ifindex = static_cast<uint32_t>(ifindex);
    sxdp.sxdp_queue_id = static_cast<uint32_t>(queue);
    sxdp.sxdp_flags = static_cast<uint16_t>((mode == "zerocopy" ? XDP_ZEROCOPY : XDP_COPY) | XDP_USE_NEED_WAKEUP);
    if (bind(fd_, reinterpret_cast<struct sockaddr*>(&sxdp), sizeof(sxdp)) < 0) {
      int err = errno;
      std::string hint = err == EBUSY        ? "another AF_XDP socket holds this queue (or one closed moments ago)"
                         : err == EOPNOTSUPP ? "the driver has no zero-copy support"
                         : err == EINVAL     ? "the queue does not exist on this interface"
                                             : "";
      return ThrowSys(env, kUnavailable,
                      "bind(AF_XDP, ifindex=" + std::to_string(ifindex) + ", queue=" + std::to_string(queue) + ", " + mode + ")",
                      err, hint);
    }
    bound_ = true;
    zeroCopy_ = mode == "zerocopy";
    queue_ = static_cast<uint32_t>(queue);

    // Copy mode sends at most this many frames per sendto(); a larger budget
    // halves the kicks. Older kernels lack the option: keep their default.
    uint32_t budget = ringSize_;
    txBudgetSet_ = setsockopt(fd_, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget)) == 0;

    // Hand every RX frame to the kernel.
    uint32_t idx = 0;
    if (fill_.Reserve(rxFrames_, &idx) != rxFrames_) return ThrowSys(env, kUnavailable, "fill ring", ENOSPC, "fill ring smaller than the RX frames");
    for (uint32_t i = 0; i < rxFrames_; i++) *fill_.Addr(idx + i) = static_cast<uint64_t>(i) * frameSize_;
    fill_.Submit(rxFrames_);
    WakeFill();
    return env.Undefined();
  }

  void WakeFill() {
    // With XDP_USE_NEED_WAKEUP the driver may sleep until told the fill ring
    // has buffers again; recvfrom() is the cheapest wakeup.
    if (fill_.NeedsWakeup()) {
      counters_.fillWakeups++;
      recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
  }

  // Copies up to `max` received frames into dst (frame i at i * stride),
  // writes their lengths, and returns the UMEM frames to the fill ring.
  uint32_t RxInto(uint8_t* dst, size_t dstLen, uint32_t stride, uint32_t* lens, uint32_t max) {
    if (fd_ < 0 || !bound_) return 0;
    uint32_t ridx = 0;
    uint32_t n = rx_.Peek(max, &ridx);
    if (n == 0) return 0;
    uint32_t fidx = 0;
    // At most rxFrames_ <= ringSize_ frames exist for RX, so the frames just
    // peeked always fit back into the fill ring; if that ever broke, leave
    // the RX ring untouched rather than corrupt the fill ring.
    if (fill_.Reserve(n, &fidx) != n) {
      rx_.cachedCons -= n;
      counters_.rxBadDescs++;
      return 0;
    }
    uint32_t out = 0;
    const uint64_t frameMask = ~static_cast<uint64_t>(frameSize_ - 1);
    for (uint32_t i = 0; i < n; i++) {
      const struct xdp_desc* d = rx_.Desc(ridx + i);
      uint64_t addr = d->addr;
      uint32_t len = d->len;
      *fill_.Addr(fidx + i) = addr & frameMask;
      if (addr + len > umem_.len) {
        counters_.rxBadDescs++;
        continue;
      }
      if (len > stride || static_cast<size_t>(out) * stride + len > dstLen) {
        counters_.rxTruncated++;
        continue;
      }
      std::memcpy(dst + static_cast<size_t>(out) * stride, umem_.base + addr, len);
      lens[out++] = len;
      counters_.rxBytes += len;
    }
    counters_.rxPackets += out;
    // Descriptors are read; the fill entries are written: publish both.
    rx_.Release(n);
    fill_.Submit(n);
    WakeFill();
    return out;
  }

  // rx(dst, stride, lengths, max) -> frames copied
  Napi::Value Rx(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    args::Bytes dst;
    int64_t stride, max;
    uint32_t* lens;
    if (!args::GetBytes(info, 0, "dst", &dst) || !args::GetInt(info, 1, "stride", 64, 65536, &stride) ||
        !args::GetInt(info, 3, "max", 0, 65536, &max) || !args::GetU32Array(info, 2, "lengths", static_cast<size_t>(max), &lens))
      return env.Undefined();
    if (static_cast<size_t>(max) * static_cast<size_t>(stride) > dst.len)
      return ThrowType(env, "dst holds " + std::to_string(dst.len) + " bytes, max * stride needs " + std::to_string(max * stride));
    return Napi::Number::New(env, RxInto(dst.data, dst.len, static_cast<uint32_t>(stride), lens, static_cast<uint32_t>(max)));
  }

  // Moves completed TX frames back to the free list.
  uint32_t ReclaimCompletions() {
    uint32_t idx = 0;
    uint32_t n = comp_.Peek(ringSize_, &idx);
    for (uint32_t i = 0; i < n; i++) {
      uint64_t addr = *comp_.Addr(idx + i) & ~static_cast<uint64_t>(frameSize_ - 1);
      uint32_t t = TxIndex(addr);
      if (addr < static_cast<uint64_t>(rxFrames_) * frameSize_ || t >= txFrames_ || txState_[t] != kTxKernel) {
        counters_.txBadCompletions++;  // not a frame we queued: never free it twice
        continue;
      }
      freeTx_.push_back(addr);
      txState_[t] = kTxFree;
    }
    if (n) comp_.Release(n);
    return n;
  }

  // TX frame index of a UMEM address (TX frames follow the RX ones).
  uint32_t TxIndex(uint64_t addr) const { return static_cast<uint32_t>(addr / frameSize_) - rxFrames_; }

  // Takes back every frame still lent to JS.
  void ReturnLent() {
    for (uint32_t i : lent_) {
      if (txState_[i] != kTxLent) continue;  // submitted meanwhile
      txState_[i] = kTxFree;
      freeTx_.push_back(static_cast<uint64_t>(rxFrames_ + i) * frameSize_);
    }
    lent_.clear();
  }

  // Wakes the kernel to send what the TX ring holds. Copy mode always needs
  // this; with need_wakeup the flag tells. Returns entries still queued.
  uint32_t Kick() {
    if (tx_.Outstanding() == 0) return 0;  // nothing queued: no syscall
    if (tx_.NeedsWakeup()) {
      for (int i = 0; i < kMaxKicks; i++) {
        counters_.txKicks++;
        if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) break;
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN) {  // budget used up with more queued: kick again
          counters_.txKickAgain++;
          continue;
        }
        if (err == EBUSY) {  // NET_XMIT_DROP: one frame completed unsent; the rest may still be queued
          counters_.txKickDropped++;
          continue;
        }
        counters_.txKickErrors++;  // ENETDOWN, ENXIO, ENOBUFS: counted, surfaced in stats
        counters_.lastKickErrno = err;
        break;
      }
    }
    return tx_.Outstanding();
  }

  // tx(hdrs, hdrStride, hdrLens, payload, payOffsets, payLens, count, csum,
  // kick) -> frames accepted. Frame i is hdrs[i*hdrStride .. +hdrLens[i]]
  // followed by payload[payOffsets[i] .. +payLens[i]]; with csum set the UDP
  // checksum is computed here on the UMEM copy. With kick false the frames
  // wait in the TX ring for a later kick()/reclaim(): the caller coalesces
  // several tx() calls into one sendto().
  Napi::Value Tx(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    if (!bound_) return ThrowType(env, "tx() before bind()");
    args::Bytes hdrs, pay;
    int64_t hdrStride, count;
    uint32_t *hdrLens, *payOffs, *payLens;
    if (!args::GetBytes(info, 0, "hdrs", &hdrs) || !args::GetInt(info, 1, "hdrStride", 1, 4096, &hdrStride) ||
        !args::GetBytes(info, 3, "payload", &pay) || !args::GetInt(info, 6, "count", 0, 65536, &count) ||
        !args::GetU32Array(info, 2, "hdrLens", static_cast<size_t>(count), &hdrLens) ||
        !args::GetU32Array(info, 4, "payOffsets", static_cast<size_t>(count), &payOffs) ||
        !args::GetU32Array(info, 5, "payLens", static_cast<size_t>(count), &payLens))
      return env.Undefined();
    bool csum = info.Length() > 7 && info[7].ToBoolean().Value();
    bool kick = info.Length() <= 8 || info[8].ToBoolean().Value();
    // Check every frame before touching a ring: a bad batch changes nothing.
    for (int64_t i = 0; i < count; i++) {
      uint64_t h = hdrLens[i], po = payOffs[i], pl = payLens[i];
      if (h > static_cast<uint64_t>(hdrStride) || static_cast<uint64_t>(i) * hdrStride + h > hdrs.len || po + pl > pay.len ||
          h + pl > frameSize_)
        return ThrowType(env, "tx frame " + std::to_string(i) + " out of bounds (header " + std::to_string(h) + " B, payload " +
                                  std::to_string(pl) + " B at " + std::to_string(po) + ", frame size " + std::to_string(frameSize_) + ")");
    }
    ReclaimCompletions();
    uint32_t want = static_cast<uint32_t>(count);
    uint32_t n = std::min<uint32_t>(want, static_cast<uint32_t>(freeTx_.size()));
    n = std::min(n, tx_.Free(n));
    if (n < want) counters_.txNoFrames++;
    uint32_t idx = 0;
    if (n > 0 && tx_.Reserve(n, &idx) == n) {
      for (uint32_t i = 0; i < n; i++) {
        uint64_t addr = freeTx_.back();
        freeTx_.pop_back();
        txState_[TxIndex(addr)] = kTxKernel;
        uint8_t* f = umem_.base + addr;
        uint32_t h = hdrLens[i], pl = payLens[i];
        std::memcpy(f, hdrs.data + static_cast<size_t>(i) * hdrStride, h);
        std::memcpy(f + h, pay.data + payOffs[i], pl);
        if (csum) FillUdpChecksum(f, h + pl);
        struct xdp_desc* d = tx_.Desc(idx + i);
        d->addr = addr;
        d->len = h + pl;
        d->options = 0;
        counters_.txBytes += h + pl;
      }
      counters_.txPackets += n;
      tx_.Submit(n);  // descriptors and frame bytes are written before the producer moves
    } else {
      n = 0;
    }
    if (kick) Kick();
    return Napi::Number::New(env, n);
  }

  // txArea() -> ArrayBuffer over the TX frames (txFrames * frameSize bytes).
  // It keeps the mapping alive by itself, so a buffer that outlives the
  // socket never points at unmapped memory.
  Napi::Value TxArea(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    auto* hold = new std::shared_ptr<UmemMapping>(umem_.mapping);
    uint8_t* start = umem_.base + static_cast<size_t>(rxFrames_) * frameSize_;
    return Napi::ArrayBuffer::New(
        env, start, static_cast<size_t>(txFrames_) * frameSize_,
        [](Napi::Env, void*, std::shared_ptr<UmemMapping>* h) { delete h; }, hold);
  }

  // txLend(offsets, max) -> n: first takes back whatever an earlier lend left
  // unsubmitted, then lends up to `max` free TX frames; offsets[i] is where
  // frame i starts in txArea(). Only one lend is outstanding at a time.
  Napi::Value TxLend(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    if (!bound_) return ThrowType(env, "txLend() before bind()");
    int64_t max;
    uint32_t* offs;
    if (!args::GetInt(info, 1, "max", 0, 65536, &max) || !args::GetU32Array(info, 0, "offsets", static_cast<size_t>(max), &offs))
      return env.Undefined();
    ReturnLent();
    ReclaimCompletions();
    // Every frame in the TX ring is a frame not free, and txFrames <= ringSize,
    // so a lent frame always finds a ring slot at txSubmit().
    uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(max), static_cast<uint32_t>(freeTx_.size()));
    for (uint32_t i = 0; i < n; i++) {
      uint64_t addr = freeTx_.back();
      freeTx_.pop_back();
      uint32_t t = TxIndex(addr);
      txState_[t] = kTxLent;
      lent_.push_back(t);
      offs[i] = t * frameSize_;
    }
    counters_.txLent += n;
    return Napi::Number::New(env, n);
  }

  // txSubmit(offsets, lens, count, csum) -> count: queues lens[i] bytes at
  // txArea() offset offsets[i], each inside a frame lent by the last
  // txLend() and not submitted yet. A bad batch throws and queues nothing.
  // The kick is left to kick()/reclaim(), as with tx(..., kick = false).
  Napi::Value TxSubmit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    if (!bound_) return ThrowType(env, "txSubmit() before bind()");
    int64_t count;
    uint32_t *offs, *lens;
    if (!args::GetInt(info, 2, "count", 0, 65536, &count) ||
        !args::GetU32Array(info, 0, "offsets", static_cast<size_t>(count), &offs) ||
        !args::GetU32Array(info, 1, "lens", static_cast<size_t>(count), &lens))
      return env.Undefined();
    bool csum = info.Length() > 3 && info[3].ToBoolean().Value();
    uint32_t n = static_cast<uint32_t>(count);
    // Validate all first; frames seen in this batch are marked so a repeat fails.
    std::string bad;
    uint32_t checked = 0;
    for (; checked < n; checked++) {
      uint32_t off = offs[checked], len = lens[checked];
      uint32_t t = off / frameSize_, in = off % frameSize_;
      if (t >= txFrames_ || txState_[t] != kTxLent || len == 0 || in + len > frameSize_) {
        bad = "txSubmit frame " + std::to_string(checked) + " (" + std::to_string(len) + " B at " + std::to_string(off) +
              ") is not inside a lent, unsubmitted frame";
        break;
      }
      txState_[t] = kTxKernel;
    }
    if (!bad.empty()) {
      for (uint32_t i = 0; i < checked; i++) txState_[offs[i] / frameSize_] = kTxLent;
      return ThrowType(env, bad);
    }
    uint32_t idx = 0;
    if (n > 0 && tx_.Reserve(n, &idx) != n) {  // cannot happen (see TxLend); refuse whole
      for (uint32_t i = 0; i < n; i++) txState_[offs[i] / frameSize_] = kTxLent;
      return ThrowSys(env, kUnavailable, "txSubmit", ENOSPC, "the TX ring is full");
    }
    const uint64_t base = static_cast<uint64_t>(rxFrames_) * frameSize_;
    for (uint32_t i = 0; i < n; i++) {
      uint64_t addr = base + offs[i];
      if (csum) FillUdpChecksum(umem_.base + addr, lens[i]);
      struct xdp_desc* d = tx_.Desc(idx + i);
      d->addr = addr;
      d->len = lens[i];
      d->options = 0;
      counters_.txBytes += lens[i];
    }
    counters_.txPackets += n;
    counters_.txSubmitted += n;
    if (n > 0) tx_.Submit(n);
    return Napi::Number::New(env, n);
  }

  // reclaim() -> {freeFrames, queued}: collects completions and kicks again.
  Napi::Value Reclaim(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    ReclaimCompletions();
    uint32_t queued = bound_ ? Kick() : 0;
    ReclaimCompletions();
    Napi::Object r = Napi::Object::New(env);
    r.Set("freeFrames", Napi::Number::New(env, static_cast<double>(freeTx_.size())));
    r.Set("queued", Napi::Number::New(env, queued));
    return r;
  }

  Napi::Value KickJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    return Napi::Number::New(env, bound_ ? Kick() : 0);
  }

  // stats() -> the kernel's XDP_STATISTICS plus our own ring counters.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object r = Napi::Object::New(env);
    auto set = [&](const char* k, double v) { r.Set(k, Napi::Number::New(env, v)); };
    set("rxPackets", counters_.rxPackets);
    set("rxBytes", counters_.rxBytes);
    set("txPackets", counters_.txPackets);
    set("txBytes", counters_.txBytes);
    set("rxBadDescs", counters_.rxBadDescs);
    set("rxTruncated", counters_.rxTruncated);
    set("txNoFrames", counters_.txNoFrames);
    set("txLent", counters_.txLent);
    set("txSubmitted", counters_.txSubmitted);
    set("txBadCompletions", counters_.txBadCompletions);
    set("txKicks", counters_.txKicks);
    set("txKickAgain", counters_.txKickAgain);
    set("txKickDropped", counters_.txKickDropped);
    set("txKickErrors", counters_.txKickErrors);
    set("lastKickErrno", counters_.lastKickErrno);
    set("fillWakeups", counters_.fillWakeups);
    set("pollWakeups", counters_.pollWakeups);
    set("pollErrors", counters_.pollErrors);
    set("freeTxFrames", static_cast<double>(freeTx_.size()));
    if (fd_ >= 0 && bound_) {
      struct xdp_statistics st;
      std::memset(&st, 0, sizeof(st));
      socklen_t len = sizeof(st);
      if (getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &st, &len) == 0) {
        set("rx_dropped", static_cast<double>(st.rx_dropped));
        set("rx_invalid_descs", static_cast<double>(st.rx_invalid_descs));
        set("tx_invalid_descs", static_cast<double>(st.tx_invalid_descs));
        set("rx_ring_full", static_cast<double>(st.rx_ring_full));
        set("fill_ring_empty_descs", static_cast<double>(st.rx_fill_ring_empty_descs));
        set("tx_ring_empty_descs", static_cast<double>(st.tx_ring_empty_descs));
      }
    }
    return r;
  }

  // startPoll(dst, stride, lengths, max, cb, budget?): on every readable
  // event, copies up to `max` frames into dst and calls cb(count), again and
  // again until the RX ring is empty or `budget` frames (default 4 * max) were
  // handled; epoll is level-triggered, so what is left wakes us again after
  // other handles had a turn. The JS batch buffers are registered once, so a
  // wakeup costs one native->JS call per batch.
  Napi::Value StartPoll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    if (!bound_) return ThrowType(env, "startPoll() before bind()");
    if (poll_.open()) return ThrowType(env, "already polling");
    args::Bytes dst;
    int64_t stride, max;
    uint32_t* lens;
    if (!args::GetBytes(info, 0, "dst", &dst) || !args::GetInt(info, 1, "stride", 64, 65536, &stride) ||
        !args::GetInt(info, 3, "max", 1, 65536, &max) || !args::GetU32Array(info, 2, "lengths", static_cast<size_t>(max), &lens))
      return env.Undefined();
    if (static_cast<size_t>(max) * static_cast<size_t>(stride) > dst.len)
      return ThrowType(env, "dst holds " + std::to_string(dst.len) + " bytes, max * stride needs " + std::to_string(max * stride));
    if (info.Length() < 5 || !info[4].IsFunction()) return ThrowType(env, "cb must be a function");
    int64_t budget = 4 * max;
    if (info.Length() > 5 && !info[5].IsUndefined() && !args::GetInt(info, 5, "budget", 1, 1 << 20, &budget)) return env.Undefined();

    if (!poll_.Start(env, fd_, this, OnPoll, kUnavailable, "xsk", "wraith:xsk-rx")) return env.Undefined();
    pollDst_ = dst.data;
    pollDstLen_ = dst.len;
    pollStride_ = static_cast<uint32_t>(stride);
    pollLens_ = lens;
    pollMax_ = static_cast<uint32_t>(max);
    pollBudget_ = static_cast<uint32_t>(budget);
    pollDstRef_ = Napi::Persistent(info[0].As<Napi::Object>());
    pollLensRef_ = Napi::Persistent(info[2].As<Napi::Object>());
    pollCb_ = Napi::Persistent(info[4].As<Napi::Function>());
    Ref();  // the poll handle points at us: stay alive until it is closed
    return env.Undefined();
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    auto* s = static_cast<XskSocket*>(h->data);
    if (status < 0) {
      s->counters_.pollErrors++;
      return;
    }
    s->counters_.pollWakeups++;
    Napi::Env env = s->env_;
    Napi::HandleScope scope(env);
    // active(): a stopPoll() from the callback ends the batch loop too.
    for (uint32_t done = 0; done < s->pollBudget_ && s->poll_.active() && !s->closing_;) {
      uint32_t n = s->RxInto(s->pollDst_, s->pollDstLen_, s->pollStride_, s->pollLens_, s->pollMax_);
      if (n == 0) break;
      done += n;
      if (!s->poll_.Call(env, s->pollCb_, s->Value(), {Napi::Number::New(env, n)})) return;
    }
  }

  // stopPoll() leaves the socket open; close() tears it down only once the
  // handle closed (see FdPoll). Runs once per startPoll(), whatever mix of
  // stopPoll() and close() asked for it: a close() that came while a
  // stopPoll() was still closing the handle tears down here.
  static void OnPollClosed(uv_handle_t* h) {
    auto* s = static_cast<XskSocket*>(h->data);
    s->poll_.Closed();
    s->pollDstRef_.Reset();
    s->pollLensRef_.Reset();
    s->pollCb_.Reset();
    Napi::HandleScope scope(s->env_);
    if (s->closing_) s->Teardown();
    s->poll_.Finish(s->env_, s->Value());  // only close() gives a callback
    s->Unref();
  }

  // Any number of times, in any order with close(): FdPoll closes the handle
  // once.
  Napi::Value StopPoll(const Napi::CallbackInfo& info) {
    if (!closing_) poll_.Close(OnPollClosed);
    return info.Env().Undefined();
  }

  // close(cb) -> true when cb will be called once teardown finishes (also
  // after a stopPoll() whose handle is still closing), false when teardown
  // already happened (no poll handle was open) or close() ran before.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closing_) return Napi::Boolean::New(info.Env(), false);
    closing_ = true;
    bool later = poll_.Close(OnPollClosed, info[0]);
    if (!later) Teardown();
    return Napi::Boolean::New(info.Env(), later);
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  Napi::Value GetInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("zeroCopy", Napi::Boolean::New(env, zeroCopy_));
    r.Set("hugePages", Napi::Boolean::New(env, umem_.hugePages));
    r.Set("umemBytes", Napi::Number::New(env, static_cast<double>(umem_.len)));
    r.Set("ringSize", Napi::Number::New(env, ringSize_));
    r.Set("frameSize", Napi::Number::New(env, frameSize_));
    r.Set("rxFrames", Napi::Number::New(env, rxFrames_));
    r.Set("txFrames", Napi::Number::New(env, txFrames_));
    r.Set("txBudgetSet", Napi::Boolean::New(env, txBudgetSet_));
    r.Set("queue", Napi::Number::New(env, queue_));
    r.Set("note", Napi::String::New(env, umem_.note));
    return r;
  }

  Napi::Env env_;
  int fd_ = -1;
  Umem umem_;
  uint32_t ringSize_ = 0, frameSize_ = 0, frames_ = 0, rxFrames_ = 0, txFrames_ = 0, queue_ = 0;
  bool bound_ = false, zeroCopy_ = false, closing_ = false, txBudgetSet_ = false;
  ProdRing fill_, tx_;
  ConsRing comp_, rx_;
  std::vector<uint64_t> freeTx_;
  // Per TX frame: free, lent to JS (txLend), or queued to the kernel.
  enum : uint8_t { kTxFree = 0, kTxLent = 1, kTxKernel = 2 };
  std::vector<uint8_t> txState_;
  std::vector<uint32_t> lent_;  // indices of the last lend
  Counters counters_;

  FdPoll poll_;
  uint8_t* pollDst_ = nullptr;
  size_t pollDstLen_ = 0;
  uint32_t pollStride_ = 0, pollMax_ = 0, pollBudget_ = 0;
  uint32_t* pollLens_ = nullptr;
  Napi::ObjectReference pollDstRef_, pollLensRef_;
  Napi::FunctionReference pollCb_;
};

// fillUdpChecksum(frame) -> false when the frame is not Ethernet + IP + UDP as
// tx() expects. The same code the TX path runs, exposed for tests.
Napi::Value FillUdpChecksumJs(const Napi::CallbackInfo& info) {
  args::Bytes f;
  if (!args::GetBytes(info, 0, "frame", &f)) return info.Env().Undefined();
  return Napi::Boolean::New(info.Env(), FillUdpChecksum(f.data, f.len));
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object xdp) {
  xdp.Set("XskSocket", XskSocket::Define(env));
  xdp.Set("fillUdpChecksum", Napi::Function::New(env, FillUdpChecksumJs, "fillUdpChecksum"));
}

}  // namespace wraith::xdp
