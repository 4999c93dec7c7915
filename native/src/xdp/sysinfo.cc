// Facts the probe needs that sysfs does not give: the driver name and
// channel counts (ethtool ioctls), and whether AF_XDP sockets can be created.
#include <napi.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>

#include "bpf/exports.h"
#include "common/errors.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace wraith::xdp {
namespace {

bool IfName(const Napi::CallbackInfo& info, std::string* out) {
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(info.Env(), "interface name must be a string");
    return false;
  }
  *out = info[0].As<Napi::String>().Utf8Value();
  if (out->empty() || out->size() >= IF_NAMESIZE) {
    ThrowType(info.Env(), "interface name '" + *out + "' must be 1-15 bytes");
    return false;
  }
  return true;
}

int Ethtool(const std::string& ifname, void* cmd) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::strncpy(ifr.ifr_name, ifname.c_str(), IF_NAMESIZE - 1);
  ifr.ifr_data = static_cast<char*>(cmd);
  int rc = ioctl(s, SIOCETHTOOL, &ifr);
  int err = rc < 0 ? errno : 0;
  close(s);
  return err;
}

// ethtoolDriver(ifname) -> {driver, version, busInfo}
Napi::Value EthtoolDriver(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!IfName(info, &name)) return env.Undefined();
  struct ethtool_drvinfo d;
  std::memset(&d, 0, sizeof(d));
  d.cmd = ETHTOOL_GDRVINFO;
  if (int err = Ethtool(name, &d))
    return ThrowSys(env, "E_XDP_UNAVAILABLE", "ioctl(SIOCETHTOOL, ETHTOOL_GDRVINFO, " + name + ")", err);
  d.driver[sizeof(d.driver) - 1] = 0;
  d.version[sizeof(d.version) - 1] = 0;
  d.bus_info[sizeof(d.bus_info) - 1] = 0;
  Napi::Object r = Napi::Object::New(env);
  r.Set("driver", Napi::String::New(env, d.driver));
  r.Set("version", Napi::String::New(env, d.version));
  r.Set("busInfo", Napi::String::New(env, d.bus_info));
  return r;
}

// ethtoolChannels(ifname) -> {maxRx, maxTx, maxCombined, rx, tx, combined}, or
// null when the driver does not report channels.
Napi::Value EthtoolChannels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name;
  if (!IfName(info, &name)) return env.Undefined();
  struct ethtool_channels c;
  std::memset(&c, 0, sizeof(c));
  c.cmd = ETHTOOL_GCHANNELS;
  if (int err = Ethtool(name, &c)) {
    if (err == EOPNOTSUPP) return env.Null();
    return ThrowSys(env, "E_XDP_UNAVAILABLE", "ioctl(SIOCETHTOOL, ETHTOOL_GCHANNELS, " + name + ")", err);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("maxRx", Napi::Number::New(env, c.max_rx));
  r.Set("maxTx", Napi::Number::New(env, c.max_tx));
  r.Set("maxCombined", Napi::Number::New(env, c.max_combined));
  r.Set("rx", Napi::Number::New(env, c.rx_count));
  r.Set("tx", Napi::Number::New(env, c.tx_count));
  r.Set("combined", Napi::Number::New(env, c.combined_count));
  return r;
}

// afXdpErrno() -> 0 when socket(AF_XDP) works here, else its errno.
Napi::Value AfXdpErrno(const Napi::CallbackInfo& info) {
  int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return Napi::Number::New(info.Env(), errno);
  close(fd);
  return Napi::Number::New(info.Env(), 0);
}

}  // namespace

void InitSysinfo(Napi::Env env, Napi::Object xdp) {
  xdp.Set("ethtoolDriver", Napi::Function::New(env, EthtoolDriver, "ethtoolDriver"));
  xdp.Set("ethtoolChannels", Napi::Function::New(env, EthtoolChannels, "ethtoolChannels"));
  xdp.Set("afXdpErrno", Napi::Function::New(env, AfXdpErrno, "afXdpErrno"));
}

}  // namespace wraith::xdp
