/**
 * ovs-vswitchd's port sockets get room for bursts of 64 KiB segments: its
 * userspace datapath reads each kernel port through an AF_PACKET socket of
 * net.core.rmem_default (208 KiB), which a burst of TSO segments from a relay
 * overflows (the kernel drops them, TCP retransmits: 14 % of the bytes of an
 * offload iperf3 here). rmem_default is read-only inside a network namespace
 * (the lab's helper) and OVS sets no SO_RCVBUF, so after each port is plugged
 * the controller raises the buffers of ovs-vswitchd's AF_PACKET sockets
 * (`raisePacketReceiveBuffers`, pidfd_getfd). Best effort: without the
 * privileges it logs once and OVS keeps its default.
 * `ARCA_OVS_PORT_RCVBUF=0` turns it off.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@arca-net/log';
import { OVS_PORT_RCVBUF, raisePacketReceiveBuffers } from '@arca-net/vsock';

let warned = false;

/** The buffer size asked for (SO_RCVBUF as read back); 0: leave OVS's sockets alone. */
export function ovsPortRcvbuf(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ARCA_OVS_PORT_RCVBUF ?? OVS_PORT_RCVBUF);
  return Number.isInteger(value) && value >= 0 ? value : OVS_PORT_RCVBUF;
}

/** Raises the port sockets of the ovs-vswitchd whose pidfile is in `runDir`; how many changed. */
export async function raiseOvsPortBuffers(runDir: string, log: Logger): Promise<number> {
  const bytes = ovsPortRcvbuf();
  if (bytes === 0) return 0;
  try {
    const pid = Number((await readFile(path.join(runDir, 'ovs-vswitchd.pid'), 'utf8')).trim());
    const raised = raisePacketReceiveBuffers(pid, bytes);
    if (raised > 0) log.debug({ pid, raised, bytes }, 'raised ovs-vswitchd port socket buffers');
    return raised;
  } catch (error) {
    if (!warned) {
      warned = true;
      log.warn({ err: String(error) }, 'cannot raise ovs-vswitchd port socket buffers');
    }
    return 0;
  }
}
