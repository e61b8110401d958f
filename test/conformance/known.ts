/**
 * The documented differences between a real Docker engine and the lab's
 * docker.sock (docs/docker-compat.md lists the same ids, with the reasons). A
 * scenario that names one must differ from Docker (else the entry is stale
 * and the suite says so) and must be equal once the entry's `normalize` is
 * applied to both outputs: the difference is exactly the documented one.
 */
export interface KnownDifference {
  id: string;
  /** One line for results.md. */
  summary: string;
  normalize(text: string): string;
}

/** Docker accepted (printed the new network's id); arca-net refused with `refusal`. */
const acceptedVersusRefused = (refusal: RegExp) => (text: string) =>
  text === 'exit 0\nstdout:\n<ID>' || refusal.test(text)
    ? '<accepted by Docker, refused by arca-net>'
    : text;

export const KNOWN: KnownDifference[] = [
  {
    id: 'bridge-options',
    summary:
      'the predefined `bridge` network has no Linux-bridge driver options (`com.docker.network.bridge.*`, the default MTU): there is no docker0, the network is an OVN logical switch',
    normalize: (text) => text.replace(/^\{.*\}$/m, '<OPTIONS>'),
  },
  {
    id: 'mac-address',
    summary:
      "MAC addresses are stable per (container, network) (`02:42:` + a hash of both ids), not derived from the IPv4 address as Docker's `02:42:ac:11:00:02`",
    normalize: (text) => text.replace(/\b02:42(:[0-9a-f]{2}){4}\b/g, '<MAC>'),
  },
  {
    id: 'dangling-filter',
    summary:
      "`network ls --filter dangling=…` counts a network's endpoints; Docker 20.10 reads them from a list that leaves them out, so every user network is dangling for it (`dangling=false` shows only the predefined ones)",
    normalize: (text) => text.replace(/^n\d\n/gm, ''),
  },
  {
    id: 'failed-connect-leftover',
    summary:
      "`network connect` that fails leaves nothing behind; Docker 20.10 keeps the network in the container's `NetworkSettings.Networks` after a refused static IP",
    normalize: (text) => text.replace(/ n1\b/, ''),
  },
  {
    id: 'subnet-host-bits',
    summary:
      'a subnet with host bits (`10.233.0.1/24`) is refused with "invalid subnet …: it should be 10.233.0.0/24"; Docker 20.10 accepts it',
    normalize: acceptedVersusRefused(/invalid subnet \S+: it should be \S+$/),
  },
  {
    id: 'network-names',
    summary:
      'network names are 1-63 characters of `[A-Za-z0-9_.-]` starting alphanumeric (they become DNS and OVN names); Docker 20.10 accepts any name, spaces and 300 characters included',
    normalize: acceptedVersusRefused(/invalid network name ".*": use 1-63 characters/),
  },
  {
    id: 'snat-address',
    summary:
      "egress leaves with the network's own OVN SNAT address (one per network, on the outside network); Docker masquerades every network behind the host's address on its default route",
    normalize: (text) =>
      text.replace(/^hello-from-outside 198\.51\.100\.\d+$/m, 'hello-from-outside <SOURCE>'),
  },
  {
    id: 'internal-default-route',
    summary:
      'a container whose only network is internal has no default route, so a connection out fails at once ("Network is unreachable"); Docker 20.10 gives it a default route via the network\'s gateway and drops the packets with iptables (the connection times out)',
    normalize: (text) =>
      text
        .replace(/^default via \S+ dev eth0 *\n/m, '')
        .replace(
          /^nc: (timed out|can't connect to remote host \(\S+\): Network is unreachable)$/m,
          '<REFUSED>',
        ),
  },
  {
    id: 'internal-upstream',
    summary:
      'on an internal network, a name the embedded resolver does not know gets SERVFAIL at once; Docker 20.10 forwards it to its upstream from the container, which has no way out, and the client times out',
    normalize: (text) =>
      text.includes(';; connection timed out; no servers could be reached') ||
      /\*\* server can't find \S+: SERVFAIL/.test(text)
        ? '<NO ANSWER>'
        : text,
  },
  {
    id: 'port-53',
    summary:
      "a container's own server cannot bind port 53 on all addresses: the embedded resolver holds 127.0.0.11:53 in the container; Docker's listens on a random port and redirects 127.0.0.11:53 to it with iptables",
    normalize: (text) =>
      text.includes('udp-echo: Address already in use') ||
      /^exit 143\nstderr:\nTerminated$/.test(text.split('stdout:\n')[1] ?? '')
        ? '<PORT 53>'
        : text,
  },
];

export function knownDifference(id: string): KnownDifference {
  const known = KNOWN.find((k) => k.id === id);
  if (!known) throw new Error(`no known difference ${id} in known.ts`);
  return known;
}
