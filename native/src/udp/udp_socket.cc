// ===== UDP area: a kernel UDP socket owned by native code =====
//
// send(): one call per batch. Consecutive equal-size datagrams to one
// destination (plus a shorter last one) become one UDP GSO send (a
// UDP_SEGMENT cmsg; at most kMaxGsoSegments segments and kMaxGsoBytes bytes);
// the rest go as plain entries of the same sendmmsg. EAGAIN returns a prefix
// and arms a writable poll. If the kernel refuses GSO (EIO, or EINVAL before
// any GSO send worked), GSO is switched off for this socket, the gsoDisabled
// counter says why, and the datagrams are sent again without it.
//
// Receive: UDP_GRO is enabled, recvmmsg reads into 64 KiB regions of a JS
// buffer, coalesced buffers are split at the UDP_GRO segment size, and the
// datagrams are handed to JS in batches through offsets/lengths/address
// arrays JS owns. uv_poll watches the fd on the main loop; one wakeup reads
// until EAGAIN or a budget.
//
// ICMP errors: IP_RECVERR (and IPV6_RECVERR) queue the errors of datagrams
// sent to closed ports or unreachable hosts. A queued error makes epoll report
// POLLERR, on which libuv stops the poll handle; the handler reads the error
// queue (which also frees its receive-buffer charge), tells JS through
// onUnreachable(host, port, errno), and starts the poll again.
//
// Counters live in a JS Float64Array (names in udp.counterNames).
#include <napi.h>
#include <linux/errqueue.h>
#include <uv.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/fd_poll.h"
#include "common/registry.h"
#include "udp/sockaddr.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // Linux 4.18
#endif
#ifndef UDP_GRO
#define UDP_GRO 104  // Linux 5.0
#endif
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
// ICMP errors read per wakeup; more wait for the next (epoll is level-triggered).
constexpr int kMaxErrPerWakeup = 64;

namespace wraith::udp {
namespace {

// Segments per GSO send. The kernel's UDP_MAX_SEGMENTS was 64 until it was
// raised to 128; 64 works on every kernel with UDP_SEGMENT.
constexpr uint32_t kMaxGsoSegments = 64;
// A GSO send is one UDP datagram before segmentation: its payload obeys the
// IPv4 limit (65535 - 20 - 8), which is also below IPv6's.
constexpr uint32_t kMaxGsoBytes = 65507;
// Receive region per recvmmsg entry when GRO is on: a coalesced buffer is at
// most one 64 KiB datagram.
constexpr uint32_t kGroRegion = 65536;
// Datagrams one received buffer may split into. GRO merges at most 64, but a
// local GSO sender's buffer (up to the kernel's 128 segments) arrives whole.
constexpr uint32_t kMaxSegsPerBuffer = 128;
constexpr int kMaxTxEntries = 256;   // mmsghdr per sendmmsg
constexpr int kMaxTxIov = 1024;      // iovecs per sendmmsg (UIO_MAXIOV)
constexpr int kMaxRxEntries = 64;    // mmsghdr per recvmmsg
// Received datagrams smaller than this are moved down to close the gap left
// by the region before; larger ones stay where the kernel put them.
constexpr uint32_t kPackMax = 16384;
constexpr uint32_t kUnroutable = 0xFFFFFFFFu;

#define WRAITH_UDP_COUNTERS(X)                                                                            \
  X(txPackets) X(txBytes) X(txDropped) X(rxPackets) X(rxBytes) X(rxDropped)                              \
  X(sendCalls) X(sendAgain) X(sendErrors) X(txOversize) X(unroutable)                                  \
  X(gsoSends) X(gsoSegments) X(gsoFallbacks) X(gsoDisabled) X(gsoDisableErrno)                           \
  X(recvCalls) X(recvErrors) X(rxMessages) X(groBuffers) X(groSegments) X(oversizeRx) X(rxTruncated)     \
  X(rxNoRoom) X(kernelRxDrops) X(pollWakeups) X(pollErrors) X(writableWakeups) X(rxCallbacks) X(lastErrno)  \
  X(icmpErrors) X(icmpRefused) X(localDrops)

enum Counter {
#define WRAITH_UDP_ENUM(n) k_##n,
  WRAITH_UDP_COUNTERS(WRAITH_UDP_ENUM)
#undef WRAITH_UDP_ENUM
  kCounterCount
};

const char* const kCounterNames[] = {
#define WRAITH_UDP_NAME(n) #n,
    WRAITH_UDP_COUNTERS(WRAITH_UDP_NAME)
#undef WRAITH_UDP_NAME
};

// ---- argument helpers: every argument is checked before any syscall ----

template <typename T>
struct View {
  T* data = nullptr;
  size_t len = 0;  // elements
};

template <typename T>
bool GetView(Napi::Env env, Napi::Value v, napi_typedarray_type type, const char* tname, const char* name, View<T>* out) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    Napi::TypeError::New(env, std::string(name) + " must be a " + tname).ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  out->data = reinterpret_cast<T*>(static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset());
  out->len = ta.ElementLength();
  return true;
}

bool GetU8(Napi::Env env, Napi::Value v, const char* name, View<uint8_t>* out) {
  // Buffers are Uint8Arrays too.
  return GetView(env, v, napi_uint8_array, "Uint8Array", name, out);
}
bool GetU16(Napi::Env env, Napi::Value v, const char* name, View<uint16_t>* out) {
  return GetView(env, v, napi_uint16_array, "Uint16Array", name, out);
}
bool GetU32(Napi::Env env, Napi::Value v, const char* name, View<uint32_t>* out) {
  return GetView(env, v, napi_uint32_array, "Uint32Array", name, out);
}

bool GetInt(Napi::Env env, Napi::Value v, const char* name, int64_t lo, int64_t hi, int64_t* out) {
  if (!v.IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    Napi::RangeError::New(env, std::string(name) + " = " + std::to_string(d) + " is not an integer in [" +
                                   std::to_string(lo) + ", " + std::to_string(hi) + "]")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool GetOptInt(Napi::Object o, const char* name, int64_t lo, int64_t hi, int64_t def, int64_t* out) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) {
    *out = def;
    return true;
  }
  return GetInt(o.Env(), v, name, lo, hi, out);
}

const char* ErrnoName(int err) {
  switch (err) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return "";
  }
}

// "[::1]:7000" / "127.0.0.1:7000" for messages.
std::string Where(const std::string& host, int64_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// One cmsg buffer, aligned for cmsghdr.
union TxCtrl {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  cmsghdr align;
};
union RxCtrl {
  char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
  cmsghdr align;
};

// One datagram split out of a received buffer.
struct Desc {
  uint32_t off;
  uint32_t len;
  uint32_t msg;  // index into msgAddr_
};

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpSocket",
                       {
                           InstanceMethod<&UdpSocket::Send>("send"),
                           InstanceMethod<&UdpSocket::SetPeer>("setPeer"),
                           InstanceMethod<&UdpSocket::StartPoll>("startPoll"),
                           InstanceMethod<&UdpSocket::Close>("close"),
                           InstanceMethod<&UdpSocket::Info>("info"),
                           InstanceMethod<&UdpSocket::PathMtu>("pathMtu"),
                           InstanceAccessor<&UdpSocket::GetGso>("gso"),
                           InstanceAccessor<&UdpSocket::GetGro>("gro"),
                       });
  }

  // new UdpSocket({host, port, recvBufferBytes, sendBufferBytes, maxDatagram,
  //                gso, gro, peerCapacity, counters, testFailGso?, testFailGsoAfter?})
  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      ThrowType(env, "UdpSocket options must be an object");
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Value hostV = o.Get("host");
    if (!hostV.IsString()) {
      ThrowType(env, "host must be an IP literal string");
      return;
    }
    host_ = hostV.As<Napi::String>().Utf8Value();
    int64_t port, rcv, snd, maxDg, peerCap, failGso, failAfter;
    if (!GetInt(env, o.Get("port"), "port", 0, 65535, &port) ||
        !GetOptInt(o, "recvBufferBytes", 0, 1 << 30, 0, &rcv) || !GetOptInt(o, "sendBufferBytes", 0, 1 << 30, 0, &snd) ||
        !GetOptInt(o, "maxDatagram", 1, 65507, 1452, &maxDg) || !GetOptInt(o, "peerCapacity", 1, 1 << 20, 4096, &peerCap) ||
        !GetOptInt(o, "testFailGso", 0, 4095, 0, &failGso) || !GetOptInt(o, "testFailGsoAfter", 0, 1 << 30, 0, &failAfter))
      return;
    View<double> counters;
    if (!GetView(env, o.Get("counters"), napi_float64_array, "Float64Array", "counters", &counters)) return;
    if (counters.len < kCounterCount) {
      Napi::RangeError::New(env, "counters has " + std::to_string(counters.len) + " elements, needs " +
                                     std::to_string(kCounterCount))
          .ThrowAsJavaScriptException();
      return;
    }
    c_ = counters.data;
    countersRef_ = Napi::Persistent(o.Get("counters").As<Napi::Object>());
    maxDatagram_ = static_cast<uint32_t>(maxDg);
    testFailGso_ = static_cast<int>(failGso);
    testFailGsoAfter_ = static_cast<double>(failAfter);
    bool wantGso = o.Get("gso").IsUndefined() || o.Get("gso").ToBoolean().Value();
    bool wantGro = o.Get("gro").IsUndefined() || o.Get("gro").ToBoolean().Value();

    SockAddr bindAddr;
    socklen_t bindLen = ParseAddr(host_, static_cast<uint16_t>(port), host_.find(':') != std::string::npos ? AF_INET6 : AF_INET,
                                  &bindAddr);
    if (bindLen == 0) {
      ThrowType(env, "host \"" + host_ + "\" is not an IP literal");
      return;
    }
    family_ = bindAddr.sa.sa_family;
    const std::string type = family_ == AF_INET ? "udp4" : "udp6";
    const std::string where = Where(host_, port);

    fd_ = socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      int err = errno;
      ThrowSys(env, "E_SOCKET", "socket(" + type + ")", err, err == EAFNOSUPPORT ? "IPv6 is disabled on this host" : "");
      return;
    }
    if (family_ == AF_INET6) {
      // Dual stack: "[::]:P" also receives IPv4 (as IPv4-mapped sources).
      int off = 0;
      setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    // As root, the FORCE variants go past net.core.{r,w}mem_max.
    if (rcv > 0) rcvForced_ = SetBuf(SO_RCVBUFFORCE, SO_RCVBUF, static_cast<int>(rcv));
    if (snd > 0) sndForced_ = SetBuf(SO_SNDBUFFORCE, SO_SNDBUF, static_cast<int>(snd));

    if (bind(fd_, &bindAddr.sa, bindLen) != 0) {
      int err = errno;
      Teardown();
      std::string syscall = "bind(" + type + " " + where + ")";
      switch (err) {
        case EADDRINUSE:
          ThrowBind(env, "E_ADDR_IN_USE", syscall, err, "UDP port " + std::to_string(port) + " on " + host_ + " is in use");
          return;
        case EADDRNOTAVAIL:
          ThrowBind(env, "E_ADDR_INVALID", syscall, err, "no interface has " + host_);
          return;
        case EACCES:
          ThrowBind(env, "E_PERMISSION", syscall, err, "ports below 1024 need root or CAP_NET_BIND_SERVICE");
          return;
        default:
          ThrowBind(env, "E_SOCKET", syscall, err, "");
          return;
      }
    }
    SockAddr local;
    socklen_t localLen = sizeof(local);
    std::memset(&local, 0, sizeof(local));
    getsockname(fd_, &local.sa, &localLen);
    localHost_ = HostText(local);
    localPort_ = PortOf(local);

    // Kernel drop counts arrive with every received datagram.
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    // ICMP errors of an unconnected socket are reported only with RECVERR; a
    // dual-stack socket needs both (IPv4-mapped peers get ICMPv4).
    setsockopt(fd_, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
    if (family_ == AF_INET6) setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
    // GSO probe: setting the socket's default segment size to 0 (none) fails
    // on kernels without UDP_SEGMENT; sends carry the size per message.
    if (wantGso) {
      int zero = 0;
      if (setsockopt(fd_, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0) {
        gso_ = true;
      } else {
        gsoProbeErrno_ = errno;
      }
    }
    if (wantGro) {
      if (setsockopt(fd_, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0) {
        gro_ = true;
      } else {
        groProbeErrno_ = errno;
      }
    }
    rcvBuf_ = GetIntOpt(SOL_SOCKET, SO_RCVBUF);
    sndBuf_ = GetIntOpt(SOL_SOCKET, SO_SNDBUF);

    peers_.resize(static_cast<size_t>(peerCap));
    peerLen_.assign(static_cast<size_t>(peerCap), 0);
    peerPlain_.assign(static_cast<size_t>(peerCap), 0);
    txHdr_.resize(kMaxTxEntries);
    txCtrl_.resize(kMaxTxEntries);
    txIov_.resize(kMaxTxIov);
    txStart_.resize(kMaxTxEntries);
    txSegs_.resize(kMaxTxEntries);
    txBytes_.resize(kMaxTxEntries);
    txGso_.resize(kMaxTxEntries);
    rxHdr_.resize(kMaxRxEntries);
    rxIov_.resize(kMaxRxEntries);
    rxName_.resize(kMaxRxEntries);
    rxCtrl_.resize(kMaxRxEntries);
  }

  ~UdpSocket() override { Teardown(); }

 private:
  // ---- setup helpers ----

  bool SetBuf(int forceOpt, int opt, int bytes) {
    if (setsockopt(fd_, SOL_SOCKET, forceOpt, &bytes, sizeof(bytes)) == 0) return true;
    setsockopt(fd_, SOL_SOCKET, opt, &bytes, sizeof(bytes));  // capped at net.core.*mem_max
    return false;
  }

  int GetIntOpt(int level, int opt) {
    int v = 0;
    socklen_t len = sizeof(v);
    if (getsockopt(fd_, level, opt, &v, &len) != 0) return -1;
    return v;
  }

  static void ThrowBind(Napi::Env env, const char* code, const std::string& syscall, int err, const std::string& hint) {
    Napi::Error e = SysError(env, code, syscall, err, hint);
    e.Set("errnoName", Napi::String::New(env, ErrnoName(err)));
    e.ThrowAsJavaScriptException();
  }

  void Teardown() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  bool Usable(Napi::Env env) {
    if (fd_ < 0 || closing_) {
      Napi::Error e = Napi::Error::New(env, "UDP socket on port " + std::to_string(localPort_) + " is closed");
      e.Set("code", Napi::String::New(env, "E_TRANSPORT_CLOSED"));
      e.ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // ---- destinations ----

  // setPeer(id, host, port) -> false when the host cannot be reached from
  // this socket (IPv6 from an IPv4 socket, port 0, not an IP literal).
  Napi::Value SetPeer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int64_t id, port;
    if (!GetInt(env, info[0], "id", 0, static_cast<int64_t>(peers_.size()) - 1, &id) ||
        !GetInt(env, info[2], "port", 0, 65535, &port))
      return env.Undefined();
    if (!info[1].IsString()) return ThrowType(env, "host must be a string");
    const size_t i = static_cast<size_t>(id);
    socklen_t len = ParseAddr(info[1].As<Napi::String>().Utf8Value(), static_cast<uint16_t>(port), family_, &peers_[i]);
    peerLen_[i] = len;
    // Port 0 is no destination: the kernel answers EINVAL. Such datagrams go
    // plain, so that EINVAL counts as a send error and never reads as
    // "GSO refused".
    peerPlain_[i] = port == 0;
    return Napi::Boolean::New(env, len != 0);
  }

  // ---- send ----

  void DisableGso(int err) {
    gso_ = false;
    c_[k_gsoDisabled] = 1;
    c_[k_gsoDisableErrno] = err;
  }

  // send(buf, offsets, lengths, peers, start, count) -> datagrams consumed
  // from `start` (sent, or dropped and counted). Fewer than count: EAGAIN
  // (the writable poll is armed).
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    View<uint8_t> buf;
    View<uint32_t> offs, lens, peers;
    int64_t start, count;
    if (!GetU8(env, info[0], "buf", &buf) || !GetU32(env, info[1], "offsets", &offs) ||
        !GetU32(env, info[2], "lengths", &lens) || !GetU32(env, info[3], "peers", &peers) ||
        !GetInt(env, info[4], "start", 0, UINT32_MAX, &start) || !GetInt(env, info[5], "count", 0, UINT32_MAX, &count))
      return env.Undefined();
    const size_t end = static_cast<size_t>(start + count);
    if (end > offs.len || end > lens.len || end > peers.len)
      return ThrowType(env, "start + count = " + std::to_string(end) + " exceeds offsets/lengths/peers (" +
                                std::to_string(std::min({offs.len, lens.len, peers.len})) + ")");
    for (size_t i = static_cast<size_t>(start); i < end; i++) {
      if (static_cast<uint64_t>(offs.data[i]) + lens.data[i] > buf.len)
        return ThrowType(env, "datagram " + std::to_string(i) + " [" + std::to_string(offs.data[i]) + ", +" +
                                  std::to_string(lens.data[i]) + ") is outside buf (" + std::to_string(buf.len) + " bytes)");
      uint32_t p = peers.data[i];
      if (p != kUnroutable && (p >= peers_.size() || peerLen_[p] == 0))
        return ThrowType(env, "datagram " + std::to_string(i) + ": peer " + std::to_string(p) + " was not set");
    }
    size_t done = SendRange(buf.data, offs.data, lens.data, peers.data, static_cast<size_t>(start), end);
    return Napi::Number::New(env, static_cast<double>(done - static_cast<size_t>(start)));
  }

  // Builds entries from datagram i on; returns how many, and where building stopped.
  int Build(uint8_t* buf, const uint32_t* offs, const uint32_t* lens, const uint32_t* peers, size_t i, size_t end,
            size_t plainUntil, size_t* stop) {
    int e = 0, iovs = 0;
    while (i < end && e < kMaxTxEntries) {
      const uint32_t len = lens[i], p = peers[i];
      // Datagrams to drop are consumed only at the head of a round, so an
      // EAGAIN never leaves a counted drop behind the accepted prefix.
      if (len > maxDatagram_ || p == kUnroutable) {
        if (e > 0) break;
        c_[len > maxDatagram_ ? k_txOversize : k_unroutable]++;
        c_[k_txDropped]++;
        i++;
        continue;
      }
      uint32_t segs = 1, total = len;
      size_t k = i + 1;
      if (gso_ && len > 0 && i >= plainUntil && !peerPlain_[p]) {
        while (k < end && segs < kMaxGsoSegments && peers[k] == p && lens[k] == len && total + len <= kMaxGsoBytes) {
          segs++, total += len, k++;
        }
        // GSO allows a shorter last segment.
        if (k < end && segs < kMaxGsoSegments && peers[k] == p && lens[k] > 0 && lens[k] < len &&
            total + lens[k] <= kMaxGsoBytes) {
          segs++, total += lens[k], k++;
        }
      }
      if (iovs + static_cast<int>(segs) > kMaxTxIov) break;
      mmsghdr& h = txHdr_[e];
      std::memset(&h, 0, sizeof(h));
      h.msg_hdr.msg_name = &peers_[p];
      h.msg_hdr.msg_namelen = peerLen_[p];
      h.msg_hdr.msg_iov = &txIov_[iovs];
      h.msg_hdr.msg_iovlen = segs;
      for (size_t j = i; j < k; j++) {
        txIov_[iovs].iov_base = buf + offs[j];
        txIov_[iovs].iov_len = lens[j];
        iovs++;
      }
      txGso_[e] = segs > 1;
      if (segs > 1) {
        h.msg_hdr.msg_control = txCtrl_[e].buf;
        h.msg_hdr.msg_controllen = sizeof(txCtrl_[e].buf);
        cmsghdr* cm = CMSG_FIRSTHDR(&h.msg_hdr);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = static_cast<uint16_t>(len);
        std::memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
      }
      txStart_[e] = i;
      txSegs_[e] = segs;
      txBytes_[e] = total;
      e++;
      i = k;
    }
    *stop = i;
    return e;
  }

  size_t SendRange(uint8_t* buf, const uint32_t* offs, const uint32_t* lens, const uint32_t* peers, size_t i, size_t end) {
    size_t plainUntil = 0;  // datagrams before this index go without GSO (one refused group)
    while (i < end) {
      size_t stop;
      int e = Build(buf, offs, lens, peers, i, end, plainUntil, &stop);
      if (e == 0) {
        i = stop;  // only drops
        continue;
      }
      int at = 0;
      int retriedAt = -1;
      bool rebuild = false;
      while (at < e) {
        int n = e - at;
        int r, err = 0;
        bool simulated = false;
        if (testFailGso_ != 0 && c_[k_gsoSends] >= testFailGsoAfter_) {
          // Test hook: the first GSO entry after testFailGsoAfter successful
          // ones fails as if the kernel refused it; entries before it go out.
          int g = at;
          while (g < e && !txGso_[g]) g++;
          if (g == at) simulated = true;
          else n = g - at;
        }
        if (simulated) {
          r = -1;
          err = testFailGso_;
          testFailGso_ = 0;
        } else {
          r = static_cast<int>(sendmmsg(fd_, &txHdr_[at], static_cast<unsigned>(n), 0));
          // 0 (nothing sent, no error) is not expected for n >= 1: treat it as "full".
          err = r < 0 ? errno : EAGAIN;
        }
        c_[k_sendCalls]++;
        if (r > 0) {
          for (int j = at; j < at + r; j++) {
            c_[k_txPackets] += txSegs_[j];
            c_[k_txBytes] += txBytes_[j];
            if (txGso_[j]) {
              c_[k_gsoSends]++;
              c_[k_gsoSegments] += txSegs_[j];
              gsoWorked_ = true;
            }
          }
          at += r;
          continue;
        }
        if (err == EINTR) continue;
        if (PendingIcmpError(err) && retriedAt != at) {
          // The ICMP error of an earlier datagram (IP_RECVERR sets the socket
          // error, which the next send reports and clears): not this entry's.
          retriedAt = at;
          continue;
        }
        c_[k_lastErrno] = err;
        if (err == ENOBUFS && txGso_[at]) {
          // A queue limited in bytes (a tbf whose limit is below its burst) refuses a GSO
          // buffer larger than the limit even when empty: its datagrams one by one may fit.
          c_[k_localDrops]++;
          i = txStart_[at];
          plainUntil = txStart_[at] + txSegs_[at];
          rebuild = true;
          break;
        }
        if (err == ENOBUFS) {
          // A local queue (qdisc, device) dropped this entry: IP_RECVERR reports what the
          // kernel otherwise drops in silence. A loss like any other; waiting for writable
          // would spin, as the socket stays writable while the queue is full.
          c_[k_localDrops]++;
          c_[k_txDropped] += txSegs_[at];
          at++;
          continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
          // Socket buffer full: accept the prefix, wake JS when writable.
          c_[k_sendAgain]++;
          ArmWritable();
          return txStart_[at];
        }
        if (txGso_[at] && (err == EIO || (err == EINVAL && !gsoWorked_))) {
          // The kernel refuses GSO here (no checksum offload, or no support
          // on this path): off for good, and this entry onwards again without.
          DisableGso(err);
          i = txStart_[at];
          rebuild = true;
          break;
        }
        if (txGso_[at] && (err == EINVAL || err == EMSGSIZE)) {
          // This one group does not fit the path as a GSO send: resend it plain.
          c_[k_gsoFallbacks]++;
          i = txStart_[at];
          plainUntil = txStart_[at] + txSegs_[at];
          rebuild = true;
          break;
        }
        // Anything else (EMSGSIZE on a plain entry, ENETUNREACH, EPERM from a
        // firewall, EINVAL for port 0, ...) is this entry's: drop it, counted.
        c_[k_sendErrors]++;
        c_[k_txDropped] += txSegs_[at];
        at++;
      }
      if (!rebuild) i = stop;
    }
    return end;
  }

  // Errors an ICMP message leaves on the socket for the next call to report.
  static bool PendingIcmpError(int err) {
    return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN || err == EPROTO || err == EMSGSIZE;
  }

  void ArmWritable() {
    if (!poll_.active() || wantWritable_) return;
    wantWritable_ = true;
    poll_.Watch(UV_READABLE | UV_WRITABLE, OnPoll);
  }

  // ---- receive ----

  // startPoll({area, offsets, lengths, ip, ports, families, scopes, batch,
  //            region, budget, onRecv, onWritable})
  Napi::Value StartPoll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    if (poll_.open()) return ThrowType(env, "already polling");
    if (info.Length() < 1 || !info[0].IsObject()) return ThrowType(env, "startPoll options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    View<uint8_t> area, ip, fams;
    View<uint32_t> offs, lens, scopes;
    View<uint16_t> ports;
    int64_t batch, region, budget;
    if (!GetU8(env, o.Get("area"), "area", &area) || !GetU32(env, o.Get("offsets"), "offsets", &offs) ||
        !GetU32(env, o.Get("lengths"), "lengths", &lens) || !GetU8(env, o.Get("ip"), "ip", &ip) ||
        !GetU16(env, o.Get("ports"), "ports", &ports) || !GetU8(env, o.Get("families"), "families", &fams) ||
        !GetU32(env, o.Get("scopes"), "scopes", &scopes) || !GetInt(env, o.Get("batch"), "batch", 1, 1 << 20, &batch) ||
        !GetInt(env, o.Get("region"), "region", 1, kGroRegion, &region) ||
        !GetOptInt(o, "budget", 1, 1 << 24, 8192, &budget))
      return env.Undefined();
    const size_t b = static_cast<size_t>(batch);
    if (offs.len < b || lens.len < b || ports.len < b || fams.len < b || scopes.len < b || ip.len < 16 * b)
      return ThrowType(env, "offsets/lengths/ports/families/scopes need batch = " + std::to_string(b) +
                                " elements and ip 16 * batch bytes");
    if (gro_ && region < static_cast<int64_t>(kGroRegion))
      return ThrowType(env, "region must be " + std::to_string(kGroRegion) + " with GRO on");
    if (!gro_ && region < static_cast<int64_t>(maxDatagram_))
      return ThrowType(env, "region = " + std::to_string(region) + " is below maxDatagram (" + std::to_string(maxDatagram_) + ")");
    if (area.len < static_cast<size_t>(region))
      return ThrowType(env, "area (" + std::to_string(area.len) + " bytes) is smaller than one region");
    Napi::Value onRecv = o.Get("onRecv"), onWritable = o.Get("onWritable"), onUnreachable = o.Get("onUnreachable");
    if (!onRecv.IsFunction() || !onWritable.IsFunction()) return ThrowType(env, "onRecv and onWritable must be functions");
    if (!onUnreachable.IsUndefined() && !onUnreachable.IsFunction()) return ThrowType(env, "onUnreachable must be a function");

    if (!poll_.Start(env, fd_, this, OnPoll, "E_SOCKET", "udp", "wraith:udp")) return env.Undefined();
    area_ = area.data;
    areaLen_ = area.len;
    outOffs_ = offs.data;
    outLens_ = lens.data;
    outIp_ = ip.data;
    outPorts_ = ports.data;
    outFams_ = fams.data;
    outScopes_ = scopes.data;
    batch_ = static_cast<uint32_t>(batch);
    region_ = static_cast<uint32_t>(region);
    budget_ = static_cast<uint32_t>(budget);
    segsPerMsg_ = gro_ ? kMaxSegsPerBuffer : 1;
    // Datagrams one fill may split out: about one per 256 bytes of area
    // (more only for tiny datagrams, which then take two fills).
    desc_.resize(std::min<size_t>(std::max<size_t>(areaLen_ / 256, 2 * kMaxSegsPerBuffer), 1 << 16));
    msgAddr_.resize(desc_.size());
    pollRefs_ = Napi::Persistent(o);  // keeps every array and callback alive
    onRecv_ = Napi::Persistent(onRecv.As<Napi::Function>());
    onWritable_ = Napi::Persistent(onWritable.As<Napi::Function>());
    if (onUnreachable.IsFunction()) onUnreachable_ = Napi::Persistent(onUnreachable.As<Napi::Function>());
    Ref();  // the poll handle points at us: stay alive until it is closed
    return env.Undefined();
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    auto* s = static_cast<UdpSocket*>(h->data);
    if (s->closing_) return;
    Napi::Env env = s->env_;
    Napi::HandleScope scope(env);
    if (status < 0) {
      // POLLERR: libuv stopped the handle. Read the queued ICMP errors, then
      // watch again (with writable if a send waits for room) and read data.
      s->c_[k_pollErrors]++;
      if (!s->DrainErrors()) return;
      s->poll_.Watch(s->wantWritable_ ? UV_READABLE | UV_WRITABLE : UV_READABLE, OnPoll);
      events = UV_READABLE;
    }
    s->c_[k_pollWakeups]++;
    if ((events & UV_WRITABLE) && s->wantWritable_) {
      s->wantWritable_ = false;
      s->poll_.Watch(UV_READABLE, OnPoll);
      s->c_[k_writableWakeups]++;
      if (!s->Call(s->onWritable_, 0)) return;
    }
    if (events & UV_READABLE) s->Drain();
  }

  // Reads up to kMaxErrPerWakeup errors from the error queue; each ICMP one
  // goes to onUnreachable(host, port, errno) with the destination of the
  // datagram it answers. false when the socket closed meanwhile or JS threw.
  bool DrainErrors() {
    for (int k = 0; k < kMaxErrPerWakeup && !closing_; k++) {
      SockAddr dst;
      std::memset(&dst, 0, sizeof(dst));
      alignas(cmsghdr) char ctrl[512];
      uint8_t data[64];
      iovec iov{data, sizeof(data)};
      msghdr m{};
      m.msg_name = &dst;
      m.msg_namelen = sizeof(dst);
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = ctrl;
      m.msg_controllen = sizeof(ctrl);
      ssize_t r = recvmsg(fd_, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        return true;  // EAGAIN: the queue is empty
      }
      const sock_extended_err* ee = nullptr;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&m); cm != nullptr; cm = CMSG_NXTHDR(&m, cm)) {
        if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
            (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR))
          ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(cm));
      }
      if (ee == nullptr) continue;
      c_[k_icmpErrors]++;
      if (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      if (ee->ee_errno == ECONNREFUSED) c_[k_icmpRefused]++;
      if (onUnreachable_.IsEmpty()) continue;
      CompactAddr a;
      ToCompact(dst, &a);
      char host[INET6_ADDRSTRLEN] = {0};
      inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.ip, host, sizeof(host));
      Napi::Env env = env_;
      if (!poll_.Call(env, onUnreachable_, Value(),
                      {Napi::String::New(env, host), Napi::Number::New(env, a.port), Napi::Number::New(env, ee->ee_errno)}))
        return false;
    }
    return !closing_;
  }

  // Calls into JS; false when the socket closed meanwhile or JS threw (the
  // exception is raised as uncaught, as for any event callback).
  bool Call(Napi::FunctionReference& fn, uint32_t count) {
    bool ok = count > 0 ? poll_.Call(env_, fn, Value(), {Napi::Number::New(env_, count)}) : poll_.Call(env_, fn, Value(), {});
    return ok && !closing_;
  }

  void Drain() {
    uint32_t delivered = 0;
    while (delivered < budget_ && !closing_) {
      bool empty = false;
      uint32_t n = Fill(&empty);
      if (n > 0 && !Deliver(n)) return;
      delivered += n;
      if (empty) break;
    }
  }

  // Reads messages into the area until the socket is empty or the area (or
  // descriptor space) is full; splits GRO buffers. Returns the datagram count.
  uint32_t Fill(bool* empty) {
    size_t cursor = 0;
    int softErrors = 0;
    uint32_t nd = 0, msgs = 0;
    for (;;) {
      size_t byArea = (areaLen_ - cursor) / region_;
      size_t byDesc = (desc_.size() - nd) / segsPerMsg_;
      int entries = static_cast<int>(std::min<size_t>({static_cast<size_t>(kMaxRxEntries), byArea, byDesc}));
      if (entries == 0) return nd;
      for (int k = 0; k < entries; k++) {
        mmsghdr& h = rxHdr_[k];
        std::memset(&h, 0, sizeof(h));
        rxIov_[k].iov_base = area_ + cursor + static_cast<size_t>(k) * region_;
        rxIov_[k].iov_len = region_;
        h.msg_hdr.msg_iov = &rxIov_[k];
        h.msg_hdr.msg_iovlen = 1;
        h.msg_hdr.msg_name = &rxName_[k];
        h.msg_hdr.msg_namelen = sizeof(rxName_[k]);
        h.msg_hdr.msg_control = rxCtrl_[k].buf;
        h.msg_hdr.msg_controllen = sizeof(rxCtrl_[k].buf);
      }
      int r = recvmmsg(fd_, rxHdr_.data(), static_cast<unsigned>(entries), MSG_DONTWAIT, nullptr);
      c_[k_recvCalls]++;
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) {
          c_[k_recvErrors]++;
          c_[k_lastErrno] = err;
          // A pending socket error (an ICMP error, also in the error queue)
          // is returned once in place of data: read on.
          if (PendingIcmpError(err) && ++softErrors <= 8) continue;
        }
        *empty = true;
        return nd;
      }
      size_t w = cursor;  // where the next datagram may go
      for (int k = 0; k < r; k++) {
        const mmsghdr& h = rxHdr_[k];
        uint8_t* base = area_ + cursor + static_cast<size_t>(k) * region_;
        uint32_t len = h.msg_len, seg = 0;
        for (cmsghdr* cm = CMSG_FIRSTHDR(&h.msg_hdr); cm != nullptr;
             cm = CMSG_NXTHDR(const_cast<msghdr*>(&h.msg_hdr), cm)) {
          if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
            int v;
            std::memcpy(&v, CMSG_DATA(cm), sizeof(v));
            seg = v > 0 ? static_cast<uint32_t>(v) : 0;
          } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
            uint32_t v;
            std::memcpy(&v, CMSG_DATA(cm), sizeof(v));
            c_[k_kernelRxDrops] = v;  // cumulative for the socket
          }
        }
        c_[k_rxMessages]++;
        if (h.msg_hdr.msg_flags & MSG_TRUNC) {
          // Longer than the region: with GRO on, more than 64 KiB coalesced;
          // without, a datagram above maxDatagram. The length is unknown.
          c_[k_rxTruncated]++;
          c_[k_rxDropped]++;
          if (!gro_) c_[k_oversizeRx]++;
          continue;
        }
        if (seg == 0 || seg >= len) seg = len;  // one datagram
        uint32_t segs = len == 0 ? 1 : (len + seg - 1) / seg;
        if (seg > maxDatagram_ && (segs == 1 || len - (segs - 1) * seg > maxDatagram_)) {
          c_[k_oversizeRx] += segs;  // every segment is too long
          c_[k_rxDropped] += segs;
          continue;
        }
        if (segs > 1) {
          c_[k_groBuffers]++;
          c_[k_groSegments] += segs;
        }
        if (len <= kPackMax && base != area_ + w) {
          std::memmove(area_ + w, base, len);
          base = area_ + w;
        }
        uint32_t off = static_cast<uint32_t>(base - area_);
        for (uint32_t s = 0; s < segs; s++) {
          if (nd == desc_.size()) {
            c_[k_rxNoRoom] += segs - s;
            c_[k_rxDropped] += segs - s;
            break;
          }
          uint32_t l = std::min(seg, len - s * seg);
          if (l > maxDatagram_) {
            c_[k_oversizeRx]++;
            c_[k_rxDropped]++;
            continue;
          }
          desc_[nd++] = Desc{off + s * seg, l, msgs};
          c_[k_rxPackets]++;
          c_[k_rxBytes] += l;
        }
        ToCompact(rxName_[k], &msgAddr_[msgs]);
        msgs++;
        w = static_cast<size_t>(base - area_) + len;
      }
      cursor = (w + 63) & ~static_cast<size_t>(63);
      if (cursor > areaLen_) cursor = areaLen_;
      if (r < entries) {
        // Fewer than asked: the queue is empty (saves the EAGAIN syscall).
        *empty = true;
        return nd;
      }
    }
  }

  // Hands the n descriptors to JS, batch_ at a time. The first datagram of a
  // batch and of each received buffer carries its source; the others have
  // family 0 ("same source as the datagram before").
  bool Deliver(uint32_t n) {
    for (uint32_t at = 0; at < n;) {
      uint32_t m = std::min(batch_, n - at);
      for (uint32_t j = 0; j < m; j++) {
        const Desc& d = desc_[at + j];
        outOffs_[j] = d.off;
        outLens_[j] = d.len;
        if (j > 0 && d.msg == desc_[at + j - 1].msg) {
          outFams_[j] = 0;
          continue;
        }
        const CompactAddr& a = msgAddr_[d.msg];
        outFams_[j] = a.family;
        outPorts_[j] = a.port;
        outScopes_[j] = a.scope;
        std::memcpy(outIp_ + 16 * j, a.ip, 16);
      }
      c_[k_rxCallbacks]++;
      if (!Call(onRecv_, m)) return false;
      at += m;
    }
    return true;
  }

  // ---- teardown ----

  // close(cb?) -> true when cb will run after the poll handle closed; false
  // when everything is closed already. libuv removes the fd from epoll on
  // close, so the fd is closed only after the handle.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closing_) return Napi::Boolean::New(info.Env(), false);
    closing_ = true;
    bool later = poll_.Close(OnPollClosed, info[0]);
    if (!later) Teardown();
    return Napi::Boolean::New(info.Env(), later);
  }

  static void OnPollClosed(uv_handle_t* h) {
    auto* s = static_cast<UdpSocket*>(h->data);
    s->poll_.Closed();
    s->Teardown();
    Napi::HandleScope scope(s->env_);
    s->pollRefs_.Reset();
    s->onRecv_.Reset();
    s->onWritable_.Reset();
    s->onUnreachable_.Reset();
    s->poll_.Finish(s->env_, s->Value());
    s->Unref();
  }

  // ---- introspection ----

  // pathMtu(host, port) -> the kernel's MTU on the route from this socket's
  // address to host:port (the interface's, or a smaller one an ICMP "packet
  // too big" taught it), or -errno. A throwaway socket bound to the same
  // address asks: connect() on UDP only looks the route up, sending nothing.
  Napi::Value PathMtu(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Usable(env)) return env.Undefined();
    int64_t port;
    if (!info[0].IsString()) return ThrowType(env, "host must be a string");
    if (!GetInt(env, info[1], "port", 1, 65535, &port)) return env.Undefined();
    SockAddr dst;
    socklen_t dstLen = ParseAddr(info[0].As<Napi::String>().Utf8Value(), static_cast<uint16_t>(port), family_, &dst);
    if (dstLen == 0) return Napi::Number::New(env, -EAFNOSUPPORT);
    SockAddr local;
    socklen_t localLen = sizeof(local);
    std::memset(&local, 0, sizeof(local));
    if (getsockname(fd_, &local.sa, &localLen) != 0) return Napi::Number::New(env, -errno);
    int fd = socket(family_, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Napi::Number::New(env, -errno);
    int err = 0;
    if (family_ == AF_INET6) {
      int off = 0;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
      local.v6.sin6_port = 0;
    } else {
      local.v4.sin_port = 0;
    }
    // The same source address as the transport's, so that source-based routing picks its route.
    bool any = family_ == AF_INET ? local.v4.sin_addr.s_addr == htonl(INADDR_ANY) : IN6_IS_ADDR_UNSPECIFIED(&local.v6.sin6_addr);
    if (!any && bind(fd, &local.sa, localLen) != 0) err = errno;
    if (err == 0 && connect(fd, &dst.sa, dstLen) != 0) err = errno;
    int mtu = 0;
    socklen_t len = sizeof(mtu);
    if (err == 0 && getsockopt(fd, family_ == AF_INET ? IPPROTO_IP : IPPROTO_IPV6, family_ == AF_INET ? IP_MTU : IPV6_MTU, &mtu, &len) != 0)
      err = errno;
    close(fd);
    return Napi::Number::New(env, err != 0 ? -err : mtu);
  }

  Napi::Value GetGso(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), gso_); }
  Napi::Value GetGro(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), gro_); }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object r = Napi::Object::New(env);
    r.Set("host", Napi::String::New(env, localHost_));
    r.Set("port", Napi::Number::New(env, localPort_));
    r.Set("family", Napi::Number::New(env, family_ == AF_INET ? 4 : 6));
    r.Set("gso", Napi::Boolean::New(env, gso_));
    r.Set("gro", Napi::Boolean::New(env, gro_));
    r.Set("gsoProbeErrno", Napi::Number::New(env, gsoProbeErrno_));
    r.Set("groProbeErrno", Napi::Number::New(env, groProbeErrno_));
    r.Set("recvBufferBytes", Napi::Number::New(env, rcvBuf_));
    r.Set("sendBufferBytes", Napi::Number::New(env, sndBuf_));
    r.Set("recvBufferForced", Napi::Boolean::New(env, rcvForced_));
    r.Set("sendBufferForced", Napi::Boolean::New(env, sndForced_));
    r.Set("maxDatagram", Napi::Number::New(env, maxDatagram_));
    r.Set("peerCapacity", Napi::Number::New(env, static_cast<double>(peers_.size())));
    r.Set("open", Napi::Boolean::New(env, fd_ >= 0 && !closing_));
    return r;
  }

  Napi::Env env_;
  int fd_ = -1;
  int family_ = AF_INET;
  std::string host_, localHost_;
  uint16_t localPort_ = 0;
  uint32_t maxDatagram_ = 1452;
  bool gso_ = false, gro_ = false, gsoWorked_ = false;
  int gsoProbeErrno_ = 0, groProbeErrno_ = 0, testFailGso_ = 0;
  double testFailGsoAfter_ = 0;
  int rcvBuf_ = -1, sndBuf_ = -1;
  bool rcvForced_ = false, sndForced_ = false;
  double* c_ = nullptr;
  Napi::ObjectReference countersRef_;

  std::vector<SockAddr> peers_;
  std::vector<socklen_t> peerLen_;
  std::vector<uint8_t> peerPlain_;

  std::vector<mmsghdr> txHdr_;
  std::vector<TxCtrl> txCtrl_;
  std::vector<iovec> txIov_;
  std::vector<size_t> txStart_;
  std::vector<uint32_t> txSegs_, txBytes_;
  std::vector<uint8_t> txGso_;

  std::vector<mmsghdr> rxHdr_;
  std::vector<iovec> rxIov_;
  std::vector<SockAddr> rxName_;
  std::vector<RxCtrl> rxCtrl_;
  std::vector<Desc> desc_;
  std::vector<CompactAddr> msgAddr_;

  FdPoll poll_;
  bool wantWritable_ = false, closing_ = false;
  uint8_t* area_ = nullptr;
  size_t areaLen_ = 0;
  uint32_t *outOffs_ = nullptr, *outLens_ = nullptr, *outScopes_ = nullptr;
  uint8_t *outIp_ = nullptr, *outFams_ = nullptr;
  uint16_t* outPorts_ = nullptr;
  uint32_t batch_ = 0, region_ = 0, budget_ = 0, segsPerMsg_ = 1;
  Napi::ObjectReference pollRefs_;
  Napi::FunctionReference onRecv_, onWritable_, onUnreachable_;
};

}  // namespace

void InitUdp(Napi::Env env, Napi::Object exports) {
  Napi::Object udp = Napi::Object::New(env);
  udp.Set("UdpSocket", UdpSocket::Define(env));
  Napi::Array names = Napi::Array::New(env, kCounterCount);
  for (uint32_t i = 0; i < kCounterCount; i++) names.Set(i, Napi::String::New(env, kCounterNames[i]));
  udp.Set("counterNames", names);
  Napi::Object k = Napi::Object::New(env);
  k.Set("maxGsoSegments", Napi::Number::New(env, kMaxGsoSegments));
  k.Set("maxGsoBytes", Napi::Number::New(env, kMaxGsoBytes));
  k.Set("groRegion", Napi::Number::New(env, kGroRegion));
  k.Set("unroutable", Napi::Number::New(env, kUnroutable));
  udp.Set("constants", k);
  exports.Set("udp", udp);
}

WRAITH_REGISTER(InitUdp);

}  // namespace wraith::udp
// ===== end UDP area =====
