/**
 * The receive buffers of ovs-vswitchd's port sockets. OVS's userspace datapath reads each
 * kernel port (our TAPs, the bench's veths) through an AF_PACKET socket whose buffer is
 * net.core.rmem_default: 208 KiB, three 64 KiB segments. With userspace TSO, a burst of
 * segments overflows it and the kernel drops them (`ss -0 -m` in the helper: `skmem:(… d4828)`);
 * TCP then retransmits. In a network namespace rmem_default is read-only, and OVS sets no
 * SO_RCVBUF of its own, so the helper raises it from outside (src/peer-buffers.h).
 */

import { toVsockError } from './errors.js';
import { addon } from './native.js';

/** What the helper asks for: SO_RCVBUF as it reads back (the kernel's doubled figure). */
export const OVS_PORT_RCVBUF = 8 * 1024 * 1024;

/**
 * Raises SO_RCVBUF of every AF_PACKET socket `pid` holds to at least `bytes` (pidfd_getfd(2);
 * needs CAP_SYS_PTRACE and CAP_NET_ADMIN) and returns how many it changed.
 */
export function raisePacketReceiveBuffers(pid: number, bytes = OVS_PORT_RCVBUF): number {
  try {
    return addon.raisePacketReceiveBuffers(pid, bytes);
  } catch (error) {
    throw toVsockError(error);
  }
}
