// Receive buffers of another process's AF_PACKET sockets (ovs-vswitchd's port sockets).
#pragma once

#include "socket.h"

namespace arca {

/**
 * Raises SO_RCVBUF (SO_RCVBUFFORCE, so past rmem_max) of every AF_PACKET socket process `pid`
 * holds to at least `bytes` (as SO_RCVBUF reads back), through pidfd_getfd(2): needs
 * CAP_SYS_PTRACE over `pid` and CAP_NET_ADMIN. `raised` counts the sockets changed.
 *
 * Why: ovs-vswitchd's userspace datapath reads each kernel port through an AF_PACKET socket
 * whose buffer is net.core.rmem_default (208 KiB, three 64 KiB segments); with userspace TSO a
 * burst of segments overflows it and the kernel drops them (`ss -0 -m`: skmem d…).
 */
SysResult RaisePacketReceiveBuffers(int pid, int bytes, int& raised);

}  // namespace arca
