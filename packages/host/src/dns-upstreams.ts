/**
 * Upstream resolvers of a network's DNS: the backend's `dnsUpstreams` option,
 * or the network's own `arca-net.dns.upstreams` option (comma-separated
 * "ip" or "ip:port"), which wins for the containers of that network.
 */
import { parseUpstream } from '@arca-net/dns';
import { errors } from './errors.js';
import type { NetworkRecord } from './state.js';

/** The network option that lists the network's own upstream resolvers. */
export const DNS_UPSTREAMS_OPTION = 'arca-net.dns.upstreams';

/** Validates upstream addresses ("ip", "ip:port", "[v6]:port"); throws INVALID_OPTION. */
export function checkUpstreams(list: readonly string[], where = 'DNS server'): string[] {
  return list.map((text) => {
    try {
      parseUpstream(text);
    } catch {
      throw errors.invalidOption(
        `invalid ${where} ${JSON.stringify(text)}: it should be an IP address or IP:port`,
      );
    }
    return text;
  });
}

/** The upstreams named by a network's options (validated), or `[]` when it names none. */
export function optionUpstreams(options: Readonly<Record<string, string>>): string[] {
  const text = options[DNS_UPSTREAMS_OPTION];
  if (text === undefined) return [];
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return checkUpstreams(list, `${DNS_UPSTREAMS_OPTION} entry`);
}

/** A network's upstreams: its own option, else the backend's. */
export function networkUpstreams(n: NetworkRecord, fallback: readonly string[]): string[] {
  const own = optionUpstreams(n.options);
  return own.length > 0 ? own : [...fallback];
}
