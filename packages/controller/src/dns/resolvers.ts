/**
 * The per-network resolvers of the helper: the DNS server that DHCP leases
 * name (guests that take their resolver from DHCP, such as a plain QEMU
 * guest, never see 127.0.0.11). OVN's own responder answers only A records of
 * known names and only without EDNS; everything else waited for the client's
 * timeout. Each network therefore gets an @arca-net/dns server, the same one
 * the container VMs run, on the subnet's highest host address:
 *
 * - an OVN logical switch port `dns-<network id>` with that address, bound to
 *   an OVS internal port `dns<tag>` on br-int, which carries the address in
 *   the helper's kernel;
 * - policy routing: `from <address>` uses a table of its own with the subnet
 *   on that port and (non-internal networks) the network's gateway as default
 *   route, so answers leave by the network's port and forwarded queries go
 *   out through the network's router (SNAT) like a container's;
 * - the DHCP options' `dns_server` is that address.
 *
 * Failures are logged, never thrown: the network works without its
 * resolver (containers use 127.0.0.11), and the next ensure retries.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import {
  buildDnsTable,
  type DnsContainer,
  DnsServer,
  isValidDnsName,
  parseUpstream,
} from '@arca-net/dns';
import type { Logger } from '@arca-net/log';
import { formatCidr, formatIpv4, resolverAddress } from '@arca-net/netaddr';
import type { NetworkView } from '../domain/network-view.js';
import { ExternalId } from '../ovn/ids.js';
import { str, strMap } from '../ovn/json.js';
import { lsName } from '../ovn/names.js';
import type { Nbctl } from '../ovn/nbctl.js';
import { kv } from '../ovn/ovsdb.js';
import type { Vsctl } from '../ovn/vsctl.js';

const execFileAsync = promisify(execFile);

/** Runs a command (argv[0] from PATH); rejects with its stderr. */
export type CommandRunner = (argv: readonly string[]) => Promise<void>;

const runCommand: CommandRunner = async (argv) => {
  await execFileAsync(argv[0] ?? '', argv.slice(1), { timeout: 10_000 });
};

/** The LS external id that keeps a network's upstreams across controller restarts. */
const UPSTREAMS_ID = 'arca-net:dns-upstreams';

/** What {@link Networks} asks of its resolvers. */
export interface NetworkResolverHooks {
  /** The resolver address of a network, or undefined when its subnet is too small. */
  address(view: NetworkView): string | undefined;
  /** Creates or updates a network's resolver; `upstreams` undefined = keep the stored ones. */
  ensure(view: NetworkView, upstreams?: readonly string[]): Promise<void>;
  /** The network's names changed. */
  refresh(view: NetworkView): void;
  remove(networkId: string): Promise<void>;
  close(): Promise<void>;
}

interface Running {
  server: DnsServer;
  address: string;
}

function tag(networkId: string): string {
  return createHash('sha256').update(`dns:${networkId}`).digest('hex').slice(0, 12);
}

/** OVS internal port (≤ 15 characters, the kernel's limit). */
export function resolverPortName(networkId: string): string {
  return `dns${tag(networkId)}`;
}

/** The routing table of the resolver's policy rule. */
export function resolverTable(networkId: string): number {
  return 1000 + (Number.parseInt(tag(networkId).slice(0, 6), 16) % 30000);
}

/** The resolver port's MAC: 02:53 and the address's four bytes. */
export function resolverMac(address: string): string {
  const bytes = address.split('.').map((b) => Number(b).toString(16).padStart(2, '0'));
  return ['02', '53', ...bytes].join(':');
}

/** The names of a network for its resolver: each endpoint's hostname, id prefix and aliases. */
export function resolverSnapshot(
  view: NetworkView,
): Record<string, { containers: DnsContainer[] }> {
  const containers: DnsContainer[] = [];
  for (const ep of view.endpoints.values()) {
    const names = [ep.hostname, ep.containerId.slice(0, 12), ...ep.aliases].filter(isValidDnsName);
    const [name, ...aliases] = names;
    if (name === undefined) continue;
    containers.push({ name, id: '', ipAddress: ep.ip, aliases });
  }
  const network = view.record.name !== '' ? view.record.name : view.record.networkId;
  return { [network]: { containers } };
}

/** The per-network resolvers of this helper. */
export class NetworkResolvers implements NetworkResolverHooks {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly nbctl: Nbctl,
    private readonly vsctl: Vsctl,
    private readonly log: Logger,
    private readonly run: CommandRunner = runCommand,
  ) {}

  address(view: NetworkView): string | undefined {
    const address = resolverAddress(view.subnet, view.gateway);
    return address === undefined ? undefined : formatIpv4(address);
  }

  async ensure(view: NetworkView, upstreams?: readonly string[]): Promise<void> {
    const networkId = view.record.networkId;
    try {
      await this.ensureOrThrow(view, upstreams);
    } catch (err) {
      this.log.error(
        { networkId, err: err instanceof Error ? err.message : String(err) },
        'network resolver not available',
      );
    }
  }

  private async ensureOrThrow(view: NetworkView, given?: readonly string[]): Promise<void> {
    const address = this.address(view);
    if (address === undefined) return;
    const networkId = view.record.networkId;
    const ls = lsName(networkId);
    const lsp = `dns-${networkId}`;
    const port = resolverPortName(networkId);
    const mac = resolverMac(address);
    const mine = [kv('external_ids', ExternalId.networkId, networkId)];
    const upstreams = given ? [...given] : await this.storedUpstreams(ls);
    const parsed = upstreams.map((u) => parseUpstream(u));
    const dhcps = await this.nbctl.find('DHCP_Options', mine, ['_uuid']);
    await this.nbctl.transact([
      ['--may-exist', 'lsp-add', ls, lsp],
      ['lsp-set-addresses', lsp, `${mac} ${address}`],
      ['set', 'Logical_Switch', ls, kv('external_ids', UPSTREAMS_ID, upstreams.join(','))],
      ...dhcps.map((row) => [
        'set',
        'DHCP_Options',
        str(row, '_uuid'),
        kv('options', 'dns_server', address),
      ]),
    ]);
    await this.vsctl.transact([
      ['--may-exist', 'add-port', 'br-int', port],
      ['set', 'Interface', port, 'type=internal', kv('external_ids', 'iface-id', lsp)],
    ]);
    const prefix = view.subnet.prefix;
    const subnet = formatCidr(view.subnet);
    const table = String(resolverTable(networkId));
    await this.run(['ip', 'link', 'set', port, 'address', mac, 'mtu', String(view.record.mtu)]);
    await this.run(['ip', 'link', 'set', port, 'up']);
    await this.run(['ip', 'addr', 'replace', `${address}/${prefix}`, 'dev', port]);
    await this.run(['sysctl', '-qw', `net.ipv4.conf.${port}.arp_ignore=1`]).catch(() => undefined);
    // The userspace datapath forwards partial checksums as they are.
    await this.run(['ethtool', '-K', port, 'tx', 'off']).catch(() => undefined);
    await this.deleteRules(table);
    await this.run(['ip', 'rule', 'add', 'from', address, 'table', table, 'priority', '100']);
    await this.run(['ip', 'route', 'replace', subnet, 'dev', port, 'src', address, 'table', table]);
    if (!view.record.internal) {
      await this.run([
        ...['ip', 'route', 'replace', 'default', 'via', formatIpv4(view.gateway)],
        ...['dev', port, 'table', table],
      ]);
    }
    let running = this.running.get(networkId);
    if (!running) {
      const server = await DnsServer.start({
        host: address,
        port: 53,
        upstreams: parsed,
        sourceAddress: address,
        logger: this.log,
      });
      running = { server, address };
      this.running.set(networkId, running);
    }
    running.server.setUpstreams(parsed);
    this.refresh(view);
    this.log.info({ networkId, address, upstreams }, 'network resolver ready');
  }

  private async storedUpstreams(ls: string): Promise<string[]> {
    const rows = await this.nbctl.find('Logical_Switch', [`name=${ls}`], ['external_ids']);
    const text = rows[0] ? strMap(rows[0], 'external_ids').get(UPSTREAMS_ID) : undefined;
    return text ? text.split(',') : [];
  }

  private async deleteRules(table: string): Promise<void> {
    for (let i = 0; i < 8; i++) {
      const deleted = await this.run(['ip', 'rule', 'del', 'table', table]).then(
        () => true,
        () => false,
      );
      if (!deleted) return;
    }
  }

  refresh(view: NetworkView): void {
    const running = this.running.get(view.record.networkId);
    if (!running) return;
    try {
      running.server.setTable(buildDnsTable(resolverSnapshot(view)));
    } catch (err) {
      this.log.warn({ networkId: view.record.networkId, err }, 'resolver names not updated');
    }
  }

  async remove(networkId: string): Promise<void> {
    const running = this.running.get(networkId);
    this.running.delete(networkId);
    await running?.server.close().catch(() => undefined);
    await this.vsctl
      .transact([['--if-exists', 'del-port', 'br-int', resolverPortName(networkId)]])
      .catch((err: unknown) => this.log.warn({ networkId, err }, 'resolver port not removed'));
    await this.deleteRules(String(resolverTable(networkId)));
    await this.run(['ip', 'route', 'flush', 'table', String(resolverTable(networkId))]).catch(
      () => undefined,
    );
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.server.close().catch(() => undefined)));
  }
}
