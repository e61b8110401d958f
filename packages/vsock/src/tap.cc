#include "tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

namespace arca {

namespace {

SysResult Fail(const char* syscall, int err = errno) {
  SysResult r;
  r.err = err;
  r.syscall = syscall;
  return r;
}

bool FillName(const std::string& name, ifreq& ifr) {
  std::memset(&ifr, 0, sizeof ifr);
  if (name.empty() || name.size() >= IFNAMSIZ) return false;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  return true;
}

/** ioctl on a throwaway datagram socket (the interface ioctls need a socket, any family). */
int IfIoctl(unsigned long request, ifreq& ifr) {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno;
  if (::ioctl(sock.get(), request, &ifr) != 0) return errno;
  return 0;
}

}  // namespace

SysResult CreateTap(const std::string& name, const uint8_t* mac, int mtu, bool up, TapInfo& out,
                    bool offload) {
  ifreq ifr;
  if (!FillName(name, ifr)) return Fail("TUNSETIFF", EINVAL);
  UniqueFd fd(RetryEintr([] { return ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC); }));
  if (!fd) return Fail("open /dev/net/tun");
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0));
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return Fail("TUNSETIFF");
  unsigned offloads = 0;
  if (offload) {
    int hdrSize = 12;  // virtio_net_hdr_v1 (with num_buffers), the offload framing's header
    if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &hdrSize) != 0) return Fail("TUNSETVNETHDRSZ");
    // No USO (UDP segmentation), although kernels from 6.2 take it: OVS 3.1's userspace datapath
    // loses UDP GSO packets (its userspace TSO knows TCP only; 20 UDP_SEGMENT sends of 10
    // datagrams each entered the helper's TAP and none left OVS). Without USO on the TAP, the
    // container's kernel segments UDP GSO in software before the forwarder reads it.
    const unsigned bits = kTunOffCsum | kTunOffTso4 | kTunOffTso6 | kTunOffTsoEcn;
    if (::ioctl(fd.get(), TUNSETOFFLOAD, static_cast<unsigned long>(bits)) != 0) {
      return Fail("TUNSETOFFLOAD");
    }
    offloads = bits;
  }
  // The kernel may have adjusted nothing here, but read back the name it used.
  std::string actual(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));

  if (mac != nullptr) {
    ifreq req;
    FillName(actual, req);
    req.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(req.ifr_hwaddr.sa_data, mac, 6);
    if (int err = IfIoctl(SIOCSIFHWADDR, req); err != 0) return Fail("SIOCSIFHWADDR", err);
  }
  if (mtu > 0) {
    ifreq req;
    FillName(actual, req);
    req.ifr_mtu = mtu;
    if (int err = IfIoctl(SIOCSIFMTU, req); err != 0) return Fail("SIOCSIFMTU", err);
  }
  if (up) {
    ifreq req;
    FillName(actual, req);
    if (int err = IfIoctl(SIOCGIFFLAGS, req); err != 0) return Fail("SIOCGIFFLAGS", err);
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
    if (int err = IfIoctl(SIOCSIFFLAGS, req); err != 0) return Fail("SIOCSIFFLAGS", err);
  }
  {
    ifreq req;
    FillName(actual, req);
    if (int err = IfIoctl(SIOCGIFINDEX, req); err != 0) return Fail("SIOCGIFINDEX", err);
    out.ifindex = req.ifr_ifindex;
  }
  {
    ifreq req;
    FillName(actual, req);
    if (int err = IfIoctl(SIOCGIFHWADDR, req); err != 0) return Fail("SIOCGIFHWADDR", err);
    std::memcpy(out.mac, req.ifr_hwaddr.sa_data, 6);
  }
  out.offloads = offloads;
  out.fd = std::move(fd);
  return {};
}

SysResult SetTapMtu(const std::string& name, int mtu) {
  ifreq req;
  if (!FillName(name, req)) return Fail("SIOCSIFMTU", EINVAL);
  req.ifr_mtu = mtu;
  if (int err = IfIoctl(SIOCSIFMTU, req); err != 0) return Fail("SIOCSIFMTU", err);
  return {};
}

}  // namespace arca
