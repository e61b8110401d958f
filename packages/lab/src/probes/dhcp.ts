/** A DHCPv4 lease query from a namespace (busybox udhcpc), configuring nothing. */
import { inNamespace, tryCommand } from '../command.js';

/** The lease a DHCP server offered. */
export interface DhcpLease {
  ip: string;
  server: string;
}

/** The lease offered on `device` in `ns` (the interface is left as it is), or undefined when none came. */
export async function dhcpLease(ns: string, device: string): Promise<DhcpLease | undefined> {
  // -s /bin/true: no script configures anything; -q: quit once leased; -n: give up after -t tries.
  const argv = ['busybox', 'udhcpc', '-i', device, '-f', '-q', '-n', '-t', '5', '-T', '1'];
  const result = await tryCommand(inNamespace(ns, [...argv, '-s', '/bin/true']), {
    timeoutMs: 30_000,
  });
  const lease = /lease of ([\d.]+) obtained from ([\d.]+)/.exec(
    `${result.stdout}\n${result.stderr}`,
  );
  return lease ? { ip: lease[1] ?? '', server: lease[2] ?? '' } : undefined;
}
