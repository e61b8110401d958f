/**
 * The controller's domain: networks, attachments, DNS names, policies and
 * published ports. It validates nothing itself (callers pass validated specs),
 * decides IPs, keeps a view rebuilt from the NB database, and turns each
 * operation into one OVN transaction plus, for attachments, a data-path link.
 */

import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';
import {
  cidrsOverlap,
  formatCidr,
  formatIpv4,
  parseIpv4,
  resolverAddress,
} from '@arca-net/netaddr';
import type { NetworkResolverHooks } from '../dns/resolvers.js';
import type { OvnDriver, OvnHealth } from '../ovn/driver.js';
import { OvnError } from '../ovn/errors.js';
import type {
  AclRecord,
  EndpointRecord,
  NetworkRecord,
  OvnState,
  PublishedPortRecord,
  UplinkRecord,
} from '../ovn/model.js';
import { lspName, routerMac } from '../ovn/names.js';
import { awaitNorthd } from '../ovn/northd.js';
import { OverlayAddressTaken } from '../ovn/overlay.js';
import { type HelperDrops, readHelperDrops } from '../ovs/drops.js';
import type { AttachmentLink, DataPath } from '../relay/datapath.js';
import { scopeState } from './cluster.js';
import { busy, ControllerError, exhausted, notFound, OVN_FAILURE_CODES, taken } from './errors.js';
import {
  dnsNames,
  exclusions,
  type NetworkView,
  pickIp,
  poolOf,
  viewOfRecord,
} from './network-view.js';
import { type PolicyRule, policyAcls } from './policy.js';
import type { AttachSpec, ExternalNetwork, NetworkSpec } from './validate.js';
import { externalPool, forwardAddress } from './validate.js';

/** How long an attach waits for ovn-controller to report the port up. */
const PORT_UP_TIMEOUT_MS = 15_000;
/** How long an attach waits for a northd that is down (the supervisor restarts it in well under a second). */
const NORTHD_GRACE_MS = 3000;

/**
 * Runs a driver or data-path step and says which step failed: an OVS/OVN
 * failure keeps the kind the driver gave it (its code from the error table,
 * the tool's stderr in the message), anything else is INTERNAL; the original
 * error stays the cause.
 */
async function ovn<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (err instanceof ControllerError) throw err;
    const code = err instanceof OvnError ? OVN_FAILURE_CODES[err.kind] : 'INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    throw new ControllerError(code, `${what}: ${message}`, { cause: err });
  }
}

/** Options of {@link Networks}. */
export interface NetworksOptions {
  driver: OvnDriver;
  dataPath: DataPath;
  /**
   * The outside world behind the helper's uplink. With it, every non-internal
   * network gets an external address, egress SNAT and published ports on that
   * address; without it, networks reach nothing outside themselves.
   */
  uplink?: ExternalNetwork;
  logger?: Logger;
  /** The per-network resolvers (the DHCP lease's DNS server); none in unit tests. */
  resolvers?: NetworkResolverHooks;
  /**
   * This helper is one chassis of a cluster sharing the central NB (cluster.ts):
   * its view is scoped to what it owns, overlay networks are shared.
   */
  cluster?: boolean;
}

/** The domain service behind NetworkControl. */
export class Networks {
  private readonly nets = new Map<string, NetworkView>();
  private readonly links = new Map<string, AttachmentLink>();
  private readonly driver: OvnDriver;
  private readonly dataPath: DataPath;
  private readonly log: Logger;
  private readonly external: ExternalNetwork | undefined;
  /** The uplink as OVN rows need it; set by {@link restore} (it needs the chassis name). */
  private uplink: UplinkRecord | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly resolvers: NetworkResolverHooks | undefined;
  /** In a cluster: this helper's chassis name (set by {@link restore}). */
  readonly cluster: boolean;
  private chassis = '';

  constructor(options: NetworksOptions) {
    this.cluster = options.cluster ?? false;
    this.resolvers = options.resolvers;
    this.driver = options.driver;
    this.dataPath = options.dataPath;
    this.external = options.uplink;
    this.log = (options.logger ?? silentLogger).child({ component: 'networks' });
  }

  /** Runs mutating operations one at a time, in call order. */
  private exclusive<T>(action: () => Promise<T>): Promise<T> {
    const run = this.queue.then(action, action);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Rebuilds the view from the NB database, removes half-created rows and
   * stale TAP ports, and reopens the data path of every attachment.
   */
  restore(): Promise<void> {
    return this.exclusive(async () => {
      const state = await this.readScopedState();
      if (state.orphans.length > 0) {
        await ovn('removing half-created rows', () => this.driver.removeOrphans(state.orphans));
      }
      this.nets.clear();
      for (const rec of state.networks) {
        const view = viewOfRecord(rec, state.dns.get(rec.networkId) ?? new Map());
        if (view) this.nets.set(rec.networkId, view);
      }
      for (const ep of state.endpoints)
        this.nets.get(ep.networkId)?.endpoints.set(ep.containerId, ep);
      for (const p of state.published) {
        this.nets.get(p.networkId)?.published.set(`${p.protocol}/${p.hostPort}`, p);
      }
      if (this.external) await this.restoreUplink(this.external);
      // Every TAP port still on br-int belonged to a process that is gone (its
      // TAP fds died with it): unplug them all, wanted or not. A wanted one is
      // plugged again below on a new TAP; keeping the old port row would leave
      // ovs-vswitchd bound to the deleted device, and no frame would reach OVS.
      const wanted = new Set(state.endpoints.map((ep) => ep.portName));
      const taps = await ovn('listing TAP ports', () => this.driver.tapPorts());
      if (taps.length > 0) {
        this.log.info(
          { ports: taps.map((t) => t.name), wanted: taps.filter((t) => wanted.has(t.name)).length },
          'unplugging stale TAP ports',
        );
        await ovn('unplugging stale TAP ports', () =>
          this.driver.unplugTaps(taps.map((t) => t.name)),
        );
      }
      for (const ep of state.endpoints) {
        if (this.links.has(ep.portName)) continue;
        try {
          this.links.set(ep.portName, await this.plugLink(ep));
        } catch (err) {
          this.log.error(
            { port: ep.portName, err: (err as Error).message },
            'cannot reopen data path',
          );
        }
      }
      for (const view of this.nets.values()) {
        if (this.runsResolver(view)) await this.resolvers?.ensure(view);
      }
      this.log.info(
        { networks: this.nets.size, attachments: state.endpoints.length },
        'state restored from NB',
      );
    });
  }

  /**
   * Creates the external switch, and connects every non-internal network that
   * has no external address yet (created while the helper had no uplink).
   */
  private async restoreUplink(external: ExternalNetwork): Promise<void> {
    const chassis = await ovn('reading the chassis name', () => this.driver.localChassis());
    if (chassis === '') {
      throw new ControllerError(
        'OVN_UNAVAILABLE',
        'the uplink needs this helper chassis (external_ids:system-id in the Open_vSwitch table), which is not set',
      );
    }
    const uplink: UplinkRecord = {
      cidr: formatCidr(external.cidr),
      gateway: formatIpv4(external.gateway),
      chassis,
    };
    await ovn('creating the external switch', () => this.driver.ensureExternalSwitch(uplink));
    this.uplink = uplink;
    for (const view of this.nets.values()) {
      const r = view.record;
      if (r.internal || r.externalIp) continue;
      if (cidrsOverlap(view.subnet, external.cidr)) {
        this.log.warn(
          { networkId: r.networkId, subnet: r.subnet, external: uplink.cidr },
          'network overlaps the external network: left without an uplink',
        );
        continue;
      }
      const externalIp = formatIpv4(this.pickExternalIp(r.networkId));
      await ovn('connecting a network to the uplink', () =>
        this.driver.addUplink({ ...r, externalIp }, uplink),
      );
      view.record = { ...r, externalIp };
      this.log.info({ networkId: r.networkId, externalIp }, 'network connected to the uplink');
    }
  }

  /** The lowest host address of the helper's part of the external network that is neither its gateway nor taken. */
  private pickExternalIp(networkId: string): number {
    const external = this.external;
    if (!external) throw new ControllerError('INTERNAL', 'no uplink configured');
    const used = new Set<number>([external.gateway]);
    const forward = forwardAddress(external);
    if (forward !== undefined) used.add(forward);
    for (const view of this.nets.values()) {
      const ip = view.record.externalIp ? parseIpv4(view.record.externalIp) : undefined;
      if (ip !== undefined) used.add(ip);
    }
    const pool = externalPool(external);
    for (let ip = pool.first; ip <= pool.last; ip++) if (!used.has(ip)) return ip;
    throw exhausted(
      `network ${networkId}: no free address left in the external network ${formatCidr(external.range ?? external.cidr)} (each non-internal network takes one; use internal networks or a larger ${external.range ? 'ARCA_EXTERNAL_RANGE' : 'ARCA_EXTERNAL_CIDR'})`,
    );
  }

  /** Unplugs and closes every data path (OVN rows stay: a restart restores them). */
  async close(): Promise<void> {
    await this.exclusive(async () => {
      const links = [...this.links];
      this.links.clear();
      await Promise.all(
        links.map(([portName, link]) => this.unplugLink(portName, link).catch(() => undefined)),
      );
      await this.resolvers?.close();
    });
  }

  /** Creates a network, or confirms an identical one (idempotent on the network id). */
  createNetwork(spec: NetworkSpec): Promise<NetworkView> {
    return this.exclusive(async () => {
      const subnet = formatCidr(spec.subnet);
      const gateway = formatIpv4(spec.gateway);
      const ipRange = spec.ipRange ? formatCidr(spec.ipRange) : '';
      // Another host may have created this overlay network in the central NB.
      if (this.cluster && spec.driver === 'overlay' && !this.nets.has(spec.networkId)) {
        await this.adoptOverlays();
      }
      const existing = this.nets.get(spec.networkId);
      if (existing) {
        const r = existing.record;
        if (
          r.subnet !== subnet ||
          r.gateway !== gateway ||
          r.ipRange !== ipRange ||
          r.mtu !== spec.mtu ||
          r.internal !== spec.internal ||
          (r.router ?? '') !== (spec.router ?? '') ||
          (spec.name !== '' && r.name !== spec.name)
        ) {
          throw taken(
            `network ${spec.networkId} already exists with subnet ${r.subnet}, gateway ${r.gateway}`,
          );
        }
        if (this.runsResolver(existing)) await this.resolvers?.ensure(existing, spec.dnsUpstreams);
        return existing;
      }
      for (const other of this.nets.values()) {
        if (cidrsOverlap(other.subnet, spec.subnet)) {
          throw taken(
            `subnet ${subnet} overlaps subnet ${other.record.subnet} of network ${other.record.networkId}`,
          );
        }
        if (spec.name !== '' && other.record.name === spec.name) {
          throw taken(`network name ${spec.name} is used by network ${other.record.networkId}`);
        }
      }
      const uplinked = this.uplink !== undefined && this.external !== undefined && !spec.internal;
      if (uplinked && this.external && cidrsOverlap(this.external.cidr, spec.subnet)) {
        throw taken(
          `subnet ${subnet} overlaps the external network ${formatCidr(this.external.cidr)} behind the helper's uplink`,
        );
      }
      const externalIp = uplinked ? formatIpv4(this.pickExternalIp(spec.networkId)) : undefined;
      const pool = poolOf(spec.subnet, spec.ipRange);
      const record: NetworkRecord = {
        networkId: spec.networkId,
        name: spec.name,
        subnet,
        gateway,
        ipRange,
        excludeIps: exclusions(spec.subnet, spec.gateway, pool),
        mtu: spec.mtu,
        internal: spec.internal,
        labels: spec.labels,
        routerMac: routerMac(spec.networkId),
        ...(externalIp ? { externalIp } : {}),
        ...(spec.driver ? { driver: spec.driver } : {}),
        ...(this.cluster ? { chassis: this.chassis } : {}),
        ...(spec.router ? { router: spec.router } : {}),
      };
      // OVN's IPAM hands out overlay addresses: it must skip the resolver's too.
      const resolver = resolverAddress(spec.subnet, spec.gateway);
      if (spec.driver === 'overlay' && resolver !== undefined) {
        record.excludeIps += ` ${formatIpv4(resolver)}`;
      }
      await ovn('creating the network', () => this.driver.createNetwork(record, this.uplink));
      const view: NetworkView = {
        record,
        subnet: spec.subnet,
        gateway: spec.gateway,
        pool,
        endpoints: new Map(),
        dns: new Map(),
        published: new Map(),
      };
      this.nets.set(spec.networkId, view);
      if (this.runsResolver(view)) await this.resolvers?.ensure(view, spec.dnsUpstreams);
      this.log.info({ networkId: spec.networkId, subnet, gateway, externalIp }, 'network created');
      return view;
    });
  }

  /** Deletes a network; absent networks are fine (idempotent); attached ones are refused. */
  deleteNetwork(networkId: string): Promise<void> {
    return this.exclusive(async () => {
      const view = this.nets.get(networkId);
      if (!view) return;
      if (view.endpoints.size > 0) {
        throw busy(
          `network ${networkId} still has ${view.endpoints.size} endpoint(s): ${[...view.endpoints.keys()].join(', ')}`,
        );
      }
      const countOverlay = this.driver.overlayEndpointCount?.bind(this.driver);
      if (this.cluster && view.record.driver === 'overlay' && countOverlay) {
        const count = await ovn('counting the overlay endpoints', () => countOverlay(networkId));
        if (count > 0) {
          throw busy(`overlay network ${networkId} still has ${count} endpoint(s) on other hosts`);
        }
      }
      await ovn('deleting the network', () =>
        this.driver.deleteNetwork(networkId, view.record.router),
      );
      this.nets.delete(networkId);
      await this.resolvers?.remove(networkId);
      this.log.info({ networkId }, 'network deleted');
    });
  }

  /** The address DHCP leases name as DNS server: the network's resolver, else its gateway. */
  dnsServerOf(view: NetworkView): string {
    return this.resolvers?.address(view) ?? view.record.gateway;
  }

  private network(networkId: string): NetworkView {
    const view = this.nets.get(networkId);
    if (!view) throw notFound(`network ${networkId} not found`);
    return view;
  }

  /** Attaches a container: decides the IP, writes its port and DNS names, opens its data path. */
  attach(spec: AttachSpec): Promise<{ endpoint: EndpointRecord; network: NetworkView }> {
    return this.exclusive(async () => {
      const view = this.network(spec.networkId);
      const existing = view.endpoints.get(spec.containerId);
      if (existing) {
        const same =
          existing.mac === spec.mac &&
          existing.vsockPort === spec.vsockPort &&
          (spec.requestedIp === undefined || existing.ip === formatIpv4(spec.requestedIp));
        if (!same)
          throw taken(
            `container ${spec.containerId} is already attached to network ${spec.networkId} (ip ${existing.ip}, mac ${existing.mac}, port ${existing.vsockPort})`,
          );
        if ((existing.offload ?? false) !== spec.offload) {
          // The host chose the other framing (a forced option, or a side that changed): reopen.
          const old = this.links.get(existing.portName);
          this.links.delete(existing.portName);
          if (old) await this.unplugLink(existing.portName, old);
          // In memory only: after a restart the host's replay of this attach says it again.
          if (spec.offload) existing.offload = true;
          else delete existing.offload;
        }
        if (!this.links.has(existing.portName))
          this.links.set(existing.portName, await this.openLink(existing));
        return { endpoint: existing, network: view };
      }
      for (const ep of view.endpoints.values()) {
        if (ep.mac === spec.mac)
          throw taken(
            `mac_address ${spec.mac} is used by container ${ep.containerId} on this network`,
          );
      }
      for (const net of this.nets.values()) {
        for (const ep of net.endpoints.values()) {
          if (ep.vsockPort === spec.vsockPort)
            throw taken(
              `vsock_port ${spec.vsockPort} is used by container ${ep.containerId} on network ${net.record.networkId}`,
            );
        }
      }
      const ip = await this.pickAddress(view, spec);
      const endpoint: EndpointRecord = {
        networkId: spec.networkId,
        containerId: spec.containerId,
        portName: lspName(spec.containerId, spec.networkId),
        ip: formatIpv4(ip),
        mac: spec.mac,
        hostname: spec.hostname,
        aliases: spec.aliases,
        vsockPort: spec.vsockPort,
        ...(this.cluster ? { chassis: this.chassis } : {}),
        ...(spec.offload ? { offload: true } : {}),
      };
      const names = dnsNames(endpoint);
      await ovn('adding the logical switch port', () =>
        this.driver.addEndpoint(endpoint, names),
      ).catch(async (err: unknown) => {
        // An overlay port exists since its address was allocated (pickAddress): it goes too.
        if (endpoint.chassis !== undefined) {
          await this.driver.removeEndpoint(endpoint, []).catch(() => undefined);
        }
        throw err;
      });
      let link: AttachmentLink;
      try {
        link = await this.openLink(endpoint);
      } catch (err) {
        await ovn('rolling back the port', () => this.driver.removeEndpoint(endpoint, names)).catch(
          (e: Error) =>
            this.log.error({ port: endpoint.portName, err: e.message }, 'rollback failed'),
        );
        throw err;
      }
      this.links.set(endpoint.portName, link);
      view.endpoints.set(endpoint.containerId, endpoint);
      for (const name of names) if (!view.dns.has(name)) view.dns.set(name, endpoint.ip);
      this.resolvers?.refresh(view);
      this.log.info(
        {
          containerId: spec.containerId,
          networkId: spec.networkId,
          ip: endpoint.ip,
          port: endpoint.portName,
        },
        'attached',
      );
      return { endpoint, network: view };
    });
  }

  /**
   * Creates the attachment's TAP and listener, then plugs the TAP into br-int
   * bound to its logical switch port; undoes both when the plug fails.
   */
  private async plugLink(ep: EndpointRecord): Promise<AttachmentLink> {
    const mtu = this.nets.get(ep.networkId)?.record.mtu;
    const link = await ovn(`opening the data path of ${ep.portName}`, () =>
      this.dataPath.open(ep, mtu),
    );
    try {
      await ovn(`plugging ${ep.portName} into br-int`, () =>
        this.driver.plugTap({
          name: ep.portName,
          containerId: ep.containerId,
          networkId: ep.networkId,
          containerIface: ep.portName,
          mtu,
        }),
      );
    } catch (err) {
      await link.close();
      await this.driver.unplugTap(ep.portName).catch(() => undefined);
      throw err;
    }
    return link;
  }

  /** The reverse of {@link plugLink}: unplugs the TAP from br-int, then closes the link. */
  private async unplugLink(portName: string, link: AttachmentLink): Promise<void> {
    try {
      await ovn(`unplugging ${portName} from br-int`, () => this.driver.unplugTap(portName));
    } finally {
      await link.close();
    }
  }

  /** {@link plugLink}, then waits (bounded) until OVN reports the port up. */
  private async openLink(ep: EndpointRecord): Promise<AttachmentLink> {
    await this.requireNorthd();
    const link = await this.plugLink(ep);
    const up = await this.driver.waitPortUp(ep.portName, PORT_UP_TIMEOUT_MS).catch(() => false);
    if (!up) {
      // Not a failure: ovn-controller binds the port later (slow under load), and
      // frames flow from then on. Say so rather than wait without end.
      this.log.warn(
        { port: ep.portName, timeoutMs: PORT_UP_TIMEOUT_MS },
        'OVN has not reported the port up yet; its frames flow once ovn-controller binds it',
      );
    }
    return link;
  }

  /** Throws OVN_NORTHD_DOWN when this helper's northd does not run (after a short grace for a restart). */
  private async requireNorthd(): Promise<void> {
    const probe = this.driver.northdStatus?.bind(this.driver);
    const northd = probe && (await awaitNorthd(probe, NORTHD_GRACE_MS));
    if (northd && !northd.running) {
      throw new ControllerError(
        'OVN_NORTHD_DOWN',
        `OVN northd is not running in the helper VM (${northd.detail}): no new port can be bound until it is back`,
      );
    }
  }

  /** Detaches a container; an absent attachment is fine (idempotent). */
  detach(containerId: string, networkId: string): Promise<void> {
    return this.exclusive(async () => {
      const view = this.nets.get(networkId);
      const ep = view?.endpoints.get(containerId);
      if (!view || !ep) return;
      const link = this.links.get(ep.portName);
      this.links.delete(ep.portName);
      if (link) await this.unplugLink(ep.portName, link);
      const names = dnsNames(ep);
      await ovn('removing the logical switch port', () => this.driver.removeEndpoint(ep, names));
      view.endpoints.delete(containerId);
      for (const name of names) if (view.dns.get(name) === ep.ip) view.dns.delete(name);
      this.resolvers?.refresh(view);
      for (const [key, p] of view.published) {
        if (p.containerId === containerId) {
          await ovn('removing a published port', () =>
            this.driver.unpublishPort(networkId, p.protocol, p.hostPort),
          );
          view.published.delete(key);
        }
      }
      this.log.info({ containerId, networkId, port: ep.portName }, 'detached');
    });
  }

  /** Replaces a network's policy with ACLs. */
  setPolicy(networkId: string, rules: PolicyRule[]): Promise<AclRecord[]> {
    return this.exclusive(async () => {
      this.network(networkId);
      const acls = policyAcls(rules, (id) => this.network(id).record.subnet);
      await ovn('writing ACLs', () => this.driver.setAcls(networkId, acls));
      return acls;
    });
  }

  /**
   * Publishes a container port with an OVN load balancer on the network's
   * router and switch: at externalIp:hostPort when the network has an
   * external address (reachable from outside through the uplink), else at
   * gateway:hostPort (reachable from inside the network only).
   */
  publish(
    networkId: string,
    containerId: string,
    protocol: 'tcp' | 'udp',
    hostPort: number,
    containerPort: number,
  ): Promise<PublishedPortRecord> {
    return this.exclusive(async () => {
      const view = this.network(networkId);
      if (view.record.internal) throw busy(`network ${networkId} is internal: no published ports`);
      const ep = view.endpoints.get(containerId);
      if (!ep) throw notFound(`container ${containerId} is not attached to network ${networkId}`);
      const key = `${protocol}/${hostPort}`;
      const record: PublishedPortRecord = {
        networkId,
        containerId,
        protocol,
        hostPort,
        containerPort,
        vip: `${view.record.externalIp ?? view.record.gateway}:${hostPort}`,
        backend: `${ep.ip}:${containerPort}`,
      };
      const existing = view.published.get(key);
      if (existing) {
        if (existing.backend === record.backend) return existing;
        throw taken(
          `${protocol} port ${hostPort} is already published for container ${existing.containerId}`,
        );
      }
      await ovn('creating the load balancer', () => this.driver.publishPort(record));
      view.published.set(key, record);
      return record;
    });
  }

  /** Removes a published port (idempotent). */
  unpublish(networkId: string, protocol: 'tcp' | 'udp', hostPort: number): Promise<void> {
    return this.exclusive(async () => {
      const view = this.network(networkId);
      await ovn('removing the load balancer', () =>
        this.driver.unpublishPort(networkId, protocol, hostPort),
      );
      view.published.delete(`${protocol}/${hostPort}`);
    });
  }

  // --- cluster (cluster.ts, ../ovn/overlay.ts) -----------------------------------

  /** The NB state; in a cluster only what this helper owns (and its chassis name is learnt). */
  private async readScopedState(): Promise<OvnState> {
    const state = await ovn('reading the NB database', () => this.driver.readState());
    if (!this.cluster) return state;
    this.chassis = await ovn('reading the chassis name', () => this.driver.localChassis());
    return scopeState(state, this.chassis);
  }

  /** Only the helper that created an overlay network runs its resolver (one address, one port). */
  private runsResolver(view: NetworkView): boolean {
    return (
      !this.cluster || view.record.driver !== 'overlay' || view.record.chassis === this.chassis
    );
  }

  /** An attachment's address: an overlay network's from the central NB's IPAM, else this helper's pick. */
  private async pickAddress(view: NetworkView, spec: AttachSpec): Promise<number> {
    const allocate = this.driver.allocateOverlayAddress?.bind(this.driver);
    if (!this.cluster || view.record.driver !== 'overlay' || !allocate) {
      return pickIp(view, spec.requestedIp);
    }
    if (spec.requestedIp !== undefined) pickIp(view, spec.requestedIp);
    const port = {
      networkId: spec.networkId,
      containerId: spec.containerId,
      portName: lspName(spec.containerId, spec.networkId),
      mac: spec.mac,
      chassis: this.chassis,
    };
    const requested = spec.requestedIp === undefined ? undefined : formatIpv4(spec.requestedIp);
    try {
      const ip = parseIpv4(await allocate(port, requested));
      if (ip === undefined) throw new Error('OVN gave a malformed address');
      return ip;
    } catch (err) {
      if (err instanceof OverlayAddressTaken) throw taken(err.message);
      throw new ControllerError(
        'OVN_UNAVAILABLE',
        `allocating the address of ${port.portName}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** Adds overlay networks other helpers created, drops gone ones, and takes their DNS names. */
  private async adoptOverlays(): Promise<void> {
    const state = await this.readScopedState();
    const present = new Set<string>();
    for (const rec of state.networks) {
      if (rec.driver !== 'overlay') continue;
      present.add(rec.networkId);
      const dns = state.dns.get(rec.networkId) ?? new Map<string, string>();
      const view = this.nets.get(rec.networkId);
      if (view) {
        view.dns = dns;
        this.resolvers?.refresh(view);
        continue;
      }
      const adopted = viewOfRecord(rec, dns);
      if (!adopted) continue;
      this.nets.set(rec.networkId, adopted);
      this.log.info({ networkId: rec.networkId, name: rec.name }, 'overlay network adopted');
    }
    for (const [id, view] of this.nets) {
      if (view.record.driver === 'overlay' && !present.has(id) && view.endpoints.size === 0) {
        this.nets.delete(id);
      }
    }
  }

  /** In a cluster: brings the overlay networks up to date with the central NB (before a listing). */
  refreshOverlays(): Promise<void> {
    if (!this.cluster) return Promise.resolve();
    return this.exclusive(() => this.adoptOverlays());
  }

  /** Every network. */
  list(): NetworkView[] {
    return [...this.nets.values()].sort((a, b) =>
      a.record.networkId.localeCompare(b.record.networkId),
    );
  }

  /** A network, or NOT_FOUND. */
  get(networkId: string): NetworkView {
    return this.network(networkId);
  }

  /** The endpoints of one container, one per network. */
  containerEndpoints(containerId: string): EndpointRecord[] {
    const out: EndpointRecord[] = [];
    for (const view of this.nets.values()) {
      const ep = view.endpoints.get(containerId);
      if (ep) out.push(ep);
    }
    return out;
  }

  /** Looks a name up in the given networks (all when empty), in order. */
  resolve(hostname: string, networkIds: string[]): { ip: string; networkId: string } | undefined {
    const views = networkIds.length > 0 ? networkIds.map((id) => this.network(id)) : this.list();
    const name = hostname.toLowerCase().replace(/\.$/, '');
    for (const view of views) {
      const ip = view.dns.get(name);
      if (ip) return { ip, networkId: view.record.networkId };
    }
    return undefined;
  }

  /** The data path of one attachment, or NOT_FOUND. */
  link(containerId: string, networkId: string): AttachmentLink {
    const ep = this.network(networkId).endpoints.get(containerId);
    const link = ep && this.links.get(ep.portName);
    if (!link) throw notFound(`container ${containerId} is not attached to network ${networkId}`);
    return link;
  }

  /** Where the attachment's frames were dropped in the helper: its TAP and its OVS port. */
  async drops(containerId: string, networkId: string): Promise<HelperDrops> {
    const ep = this.network(networkId).endpoints.get(containerId);
    if (!ep) throw notFound(`container ${containerId} is not attached to network ${networkId}`);
    return readHelperDrops(ep.portName, this.driver);
  }

  /** OVS/OVN health and counts. */
  async health(): Promise<OvnHealth & { networks: number; attachments: number }> {
    const h = await this.driver.health();
    let attachments = 0;
    for (const view of this.nets.values()) attachments += view.endpoints.size;
    return { ...h, networks: this.nets.size, attachments };
  }
}
