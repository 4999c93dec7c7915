// Asks the kernel over rtnetlink (RTM_GETLINK) which XDP program, if any, is
// attached to an interface, so we never touch a program we did not load.
#include <napi.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/exports.h"
#include "common/errors.h"
#include "xdp/args.h"

namespace wraith::bpf {
namespace {

constexpr const char* kUnavailable = "E_XDP_UNAVAILABLE";

struct XdpState {
  uint8_t attached = XDP_ATTACHED_NONE;
  uint32_t progId = 0, drvProgId = 0, skbProgId = 0, hwProgId = 0;
};

// Closes the socket on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void ParseXdp(const struct rtattr* nest, XdpState* st) {
  int len = static_cast<int>(RTA_PAYLOAD(nest));
  for (const struct rtattr* a = static_cast<const struct rtattr*>(RTA_DATA(nest)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    uint32_t v32 = 0;
    if (RTA_PAYLOAD(a) >= 4) std::memcpy(&v32, RTA_DATA(a), 4);
    switch (a->rta_type) {
      case IFLA_XDP_ATTACHED:
        if (RTA_PAYLOAD(a) >= 1) st->attached = *static_cast<const uint8_t*>(RTA_DATA(a));
        break;
      case IFLA_XDP_PROG_ID: st->progId = v32; break;
      case IFLA_XDP_DRV_PROG_ID: st->drvProgId = v32; break;
      case IFLA_XDP_SKB_PROG_ID: st->skbProgId = v32; break;
      case IFLA_XDP_HW_PROG_ID: st->hwProgId = v32; break;
      default: break;
    }
  }
}

// Returns 0, or an errno with *where naming the failing call.
int QueryXdp(int ifindex, XdpState* st, std::string* where) {
  Fd s{socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)};
  if (s.fd < 0) return *where = "socket(AF_NETLINK, NETLINK_ROUTE)", errno;
  struct timeval tv = {2, 0};  // the kernel answers at once; never block the loop for long
  setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  std::memset(&req, 0, sizeof(req));
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  struct sockaddr_nl kernel;
  std::memset(&kernel, 0, sizeof(kernel));
  kernel.nl_family = AF_NETLINK;
  if (sendto(s.fd, &req, req.nh.nlmsg_len, 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof(kernel)) < 0)
    return *where = "sendto(RTM_GETLINK, ifindex=" + std::to_string(ifindex) + ")", errno;

  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(s.fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return *where = "recv(RTM_GETLINK)", errno;
    }
    int len = static_cast<int>(n);
    for (struct nlmsghdr* nh = reinterpret_cast<struct nlmsghdr*>(buf.data()); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_seq != 1) continue;
      if (nh->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<struct nlmsgerr*>(NLMSG_DATA(nh));
        if (e->error == 0) continue;
        *where = "RTM_GETLINK(ifindex=" + std::to_string(ifindex) + ")";
        return -e->error;
      }
      if (nh->nlmsg_type != RTM_NEWLINK) continue;
      auto* ifi = static_cast<struct ifinfomsg*>(NLMSG_DATA(nh));
      int alen = static_cast<int>(IFLA_PAYLOAD(nh));
      for (struct rtattr* a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
        if (a->rta_type == IFLA_XDP) ParseXdp(a, st);
      return 0;
    }
  }
}

const char* AttachedName(uint8_t a) {
  switch (a) {
    case XDP_ATTACHED_NONE: return "none";
    case XDP_ATTACHED_DRV: return "native";
    case XDP_ATTACHED_SKB: return "generic";
    case XDP_ATTACHED_HW: return "offload";
    case XDP_ATTACHED_MULTI: return "multi";
    default: return "unknown";
  }
}

// xdpQuery(ifindex) -> {attached, progId, drvProgId, skbProgId, hwProgId}.
Napi::Value XdpQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t ifindex;
  if (!args::GetInt(info, 0, "ifindex", 1, INT32_MAX, &ifindex)) return env.Undefined();
  XdpState st;
  std::string where;
  int err = QueryXdp(static_cast<int>(ifindex), &st, &where);
  if (err != 0) return ThrowSys(env, kUnavailable, where, err, err == ENODEV ? "no such interface" : "");
  Napi::Object r = Napi::Object::New(env);
  r.Set("attached", Napi::String::New(env, AttachedName(st.attached)));
  r.Set("progId", Napi::Number::New(env, st.progId));
  r.Set("drvProgId", Napi::Number::New(env, st.drvProgId));
  r.Set("skbProgId", Napi::Number::New(env, st.skbProgId));
  r.Set("hwProgId", Napi::Number::New(env, st.hwProgId));
  return r;
}

// ifIndex(name) -> ifindex, 0 when there is no such interface.
Napi::Value IfIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) return ThrowType(env, "name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IF_NAMESIZE) return ThrowType(env, "interface name '" + name + "' must be 1-15 bytes");
  return Napi::Number::New(env, if_nametoindex(name.c_str()));
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object xdp) {
  xdp.Set("xdpQuery", Napi::Function::New(env, XdpQuery, "xdpQuery"));
  xdp.Set("ifIndex", Napi::Function::New(env, IfIndex, "ifIndex"));
}

}  // namespace wraith::bpf
