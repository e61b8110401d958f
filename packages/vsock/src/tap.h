// TAP devices: IFF_TAP | IFF_NO_PI, exact MAC, MTU, link up.
#pragma once

#include <cstdint>
#include <string>

#include "socket.h"
#include "unique_fd.h"

namespace arca {

/** TUNSETOFFLOAD bits (linux/if_tun.h; USO ones since Linux 6.2). */
constexpr unsigned kTunOffCsum = 0x01;
constexpr unsigned kTunOffTso4 = 0x02;
constexpr unsigned kTunOffTso6 = 0x04;
constexpr unsigned kTunOffTsoEcn = 0x08;
constexpr unsigned kTunOffUso4 = 0x20;
constexpr unsigned kTunOffUso6 = 0x40;

struct TapInfo {
  UniqueFd fd;
  /** TUNSETOFFLOAD bits in effect (0 without offload). */
  unsigned offloads = 0;
  int ifindex = 0;
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
};

/**
 * Creates (or attaches to) the non-persistent TAP `name`, sets `mac` (when non-null) and `mtu`
 * (when > 0), and brings it up when `up`. With `offload`, the TAP is opened with IFF_VNET_HDR,
 * a 12-byte header (TUNSETVNETHDRSZ: virtio_net_hdr_v1) and TUNSETOFFLOAD checksum + TSO4/6 +
 * ECN; never USO4/6 (OVS 3.1's userspace datapath loses UDP GSO packets: see tap.cc). On failure nothing stays open (the fd closes
 * and the kernel removes the device).
 */
SysResult CreateTap(const std::string& name, const uint8_t* mac, int mtu, bool up, TapInfo& out,
                    bool offload = false);
SysResult SetTapMtu(const std::string& name, int mtu);

}  // namespace arca
