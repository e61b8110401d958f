// TAP devices: IFF_TAP | IFF_NO_PI, exact MAC, MTU, link up.
#pragma once

#include <cstdint>
#include <string>

#include "socket.h"
#include "unique_fd.h"

namespace arca {

struct TapInfo {
  UniqueFd fd;
  int ifindex = 0;
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
};

/**
 * Creates (or attaches to) the non-persistent TAP `name`, sets `mac` (when non-null) and `mtu`
 * (when > 0), and brings it up when `up`. On failure nothing stays open (the fd closes and the
 * kernel removes the device).
 */
SysResult CreateTap(const std::string& name, const uint8_t* mac, int mtu, bool up, TapInfo& out);
SysResult SetTapMtu(const std::string& name, int mtu);

}  // namespace arca
