/**
 * Attachments and their undo steps. Bringing one up is helper
 * AttachContainer → forwarder AttachNetwork → relay; each step registers its
 * undo before it runs (a call that timed out may still have happened), and a
 * failure runs the registered undos in reverse. Tearing one down goes the
 * other way: relay, forwarder device, helper port.
 */

import type { Logger } from '@arca-net/log';
import type { LinkCounters, NetworkBridge } from './bridge.js';
import { applyDefaultRoute, defaultRouteAttachment } from './default-route.js';
import type { DnsFanOut } from './dns.js';
import { type ConnectOptions, checkAliases } from './docker.js';
import type { AttachmentDrops } from './drops.js';
import { errors } from './errors.js';
import type { ForwarderPool } from './forwarders.js';
import type { HelperClient } from './helper-client.js';
import { checkStaticIp, nextFreeIp, prefixLength } from './ipam.js';
import { checkConnectBounds } from './limits.js';
import { normalizeMac, stableMac } from './mac.js';
import {
  type Framing,
  negotiateFraming,
  type OffloadPreference,
  parseOffloadPreference,
} from './offload.js';
import { isPlaceholderIp, overlayPlaceholderIp } from './overlay.js';
import type { PortAllocator } from './ports.js';
import type { PublishedPort } from './publish.js';
import type { AttachmentRecord, ContainerRecord, NetworkRecord, StateStore } from './state.js';

/**
 * One attachment as the backend reports it: its record (less the bookkeeping
 * fields) with the names, the framing in use and what is live.
 */
export interface AttachmentInfo
  extends Omit<AttachmentRecord, 'seq' | 'gwPriority' | 'offload' | 'framing'> {
  containerName: string;
  networkName: string;
  /** The data stream's framing: 'offload' (virtio-net headers, TSO) or 'plain' (QEMU's). */
  framing: Framing;
  /** The connect's offload preference ('auto' when it named none). */
  offload: OffloadPreference;
  /** Relay counters, when a relay exists. */
  relay?: LinkCounters;
  /** Frames dropped by place (drops.ts); only in a container's inspect (`lab stats`). */
  drops?: AttachmentDrops;
  /** Ports published through this network (`docker run -p`), as `docker port` lists them. */
  ports: PublishedPort[];
}

/** The relay's key in the NetworkBridge: one relay per (container, network). */
export const linkKey = (containerId: string, networkId: string): string =>
  `${containerId}/${networkId}`;

/** What the attachment steps work with; owned by the backend. */
export interface AttachmentParts {
  state: StateStore;
  ports: PortAllocator;
  bridge: NetworkBridge;
  helper: HelperClient;
  forwarders: ForwarderPool;
  dns: DnsFanOut;
  log: Logger;
  /** Offload preference of a connect that names none (default 'auto'). */
  offloadDefault?: OffloadPreference;
}

/** Connect, disconnect, bring-up with rollback, restore and teardown of attachments. */
export class Attachments {
  readonly #p: AttachmentParts;

  constructor(parts: AttachmentParts) {
    this.#p = parts;
  }

  /** The VM of `c` stopped: every live attachment torn down to `stopped`, IP, MAC and device kept. Returns the networks touched. */
  async stopAll(c: ContainerRecord): Promise<Set<string>> {
    const { state, ports } = this.#p;
    const networks = new Set<string>();
    for (const a of state.attachmentsOfContainer(c.id)) {
      if (a.port === null && a.status === 'stopped') continue;
      await this.teardown(c, a, { forwarder: false });
      state.updateAttachment(c.id, a.networkId, { status: 'stopped', port: null });
      if (a.port !== null) ports.release(a.port);
      networks.add(a.networkId);
    }
    return networks;
  }

  /** The VM of `running` is up: restores every attachment that is not ready, trying them all. */
  async restoreAll(
    running: ContainerRecord,
  ): Promise<{ networks: Set<string>; failures: unknown[] }> {
    const { state, log } = this.#p;
    const failures: unknown[] = [];
    const networks = new Set<string>();
    for (const a of state.attachmentsOfContainer(running.id)) {
      if (a.status === 'ready') continue;
      try {
        await this.restore(running, a);
        networks.add(a.networkId);
      } catch (err) {
        failures.push(err);
        log.error({ container: running.name, network: a.networkId, err }, 'restore failed');
      }
    }
    return { networks, failures };
  }

  /**
   * Connects `c` to `n`: chooses device, IP and MAC, records the attachment,
   * and for a running container brings it up and pushes DNS snapshots to it
   * and its peers, undoing everything on failure.
   */
  async connect(
    c: ContainerRecord,
    n: NetworkRecord,
    options: ConnectOptions,
  ): Promise<AttachmentInfo> {
    const { state, ports, dns, log } = this.#p;
    checkConnectBounds(options);
    if (state.getAttachment(c.id, n.id)) throw errors.endpointExists(c.name, n.name);
    const aliases = checkAliases(options.aliases ?? []);
    if (options.gwPriority !== undefined && !Number.isSafeInteger(options.gwPriority)) {
      throw errors.invalidOption(`invalid gw-priority ${options.gwPriority}: must be an integer`);
    }
    const peers = state.attachmentsOfNetwork(n.id);
    const mac = options.mac ? normalizeMac(options.mac) : stableMac(c.id, n.id);
    if (peers.some((p) => p.mac === mac)) {
      throw errors.invalidMac(mac, `already in use on network ${n.name}`);
    }
    const taken = new Set(peers.map((p) => p.ip));
    const ip =
      options.ip !== undefined && options.ip !== ''
        ? checkStaticIp(options.ip, n, taken)
        : n.driver === 'overlay'
          ? overlayPlaceholderIp(c.id)
          : nextFreeIp(n, taken, n.name);
    const devices = new Set(state.attachmentsOfContainer(c.id).map((a) => a.device));
    let index = 0;
    while (devices.has(`eth${index}`)) index++;
    const offload: OffloadPreference | '' =
      options.offload === undefined ? '' : parseOffloadPreference(options.offload, 'auto');
    const base = {
      containerId: c.id,
      networkId: n.id,
      device: `eth${index}`,
      ip,
      prefixLength: prefixLength(n.subnet),
      gateway: n.gateway,
      mac,
      aliases,
      gwPriority: options.gwPriority ?? 0,
      offload,
    };
    if (!c.running) {
      return this.info(state.insertAttachment({ ...base, port: null, status: 'stopped' }));
    }
    const port = ports.allocate();
    let record: AttachmentRecord;
    try {
      record = state.insertAttachment({ ...base, port, status: 'pending' });
    } catch (err) {
      ports.release(port);
      throw err;
    }
    try {
      record = await this.bringUp(c, n, record);
    } catch (err) {
      state.deleteAttachment(c.id, n.id);
      ports.release(port);
      throw err;
    }
    try {
      await dns.push(c, true);
    } catch (err) {
      await this.teardown(c, record, { forwarder: true });
      state.deleteAttachment(c.id, n.id);
      ports.release(port);
      throw err;
    }
    await dns.pushToNetworks(new Set([n.id]), c.id);
    await this.routeDefault(c);
    log.info(
      { container: c.name, network: n.name, ip: record.ip, port, device: record.device },
      'connected',
    );
    return this.info(record);
  }

  /**
   * Disconnects `c` from `n`. The row goes to `detaching` first, so when the
   * helper cannot be reached it stays there for the next call or reconcile.
   */
  async disconnect(c: ContainerRecord, n: NetworkRecord): Promise<void> {
    const { state, ports, dns, log } = this.#p;
    const a = state.getAttachment(c.id, n.id);
    if (!a) throw errors.notConnected(c.name, n.name);
    if (a.status !== 'stopped' || a.port !== null) {
      state.updateAttachment(c.id, n.id, { status: 'detaching' });
      await this.teardown(c, a, { forwarder: c.running, strict: true });
    }
    state.deleteAttachment(c.id, n.id);
    if (a.port !== null) ports.release(a.port);
    if (c.running) await dns.push(c, false);
    await dns.pushToNetworks(new Set([n.id]), c.id);
    await this.routeDefault(c);
    log.info({ container: c.name, network: n.name }, 'disconnected');
  }

  /**
   * Helper attach → forwarder attach → relay for one attachment whose port is
   * set, and marks the row `ready`. A `new` bring-up rolls its own steps back
   * on failure; a `replay` (reconcile) leaves them for the next reconcile.
   */
  async bringUp(
    c: ContainerRecord,
    n: NetworkRecord,
    a: AttachmentRecord,
    mode: 'new' | 'replay' = 'new',
  ): Promise<AttachmentRecord> {
    const { state, bridge, helper, forwarders, log } = this.#p;
    const port = a.port;
    if (port === null) throw new Error(`attachment ${c.id}/${n.id} has no port`);
    const undo: Array<() => Promise<unknown> | unknown> = [];
    try {
      const label = `${c.name} to ${n.name}`;
      const preference = a.offload || this.#p.offloadDefault || 'auto';
      const framing = await negotiateFraming(preference, this.#p, c, n);
      const offload = framing === 'offload';
      undo.push(() => helper.detachContainer(c.id, n.id, c.name));
      const attached = await helper.attachContainer(
        {
          containerId: c.id,
          networkId: n.id,
          ipAddress: isPlaceholderIp(a.ip) ? '' : a.ip,
          macAddress: a.mac,
          hostname: c.name,
          aliases: a.aliases,
          vsockPort: port,
          offload,
        },
        label,
      );
      if ((attached.offload ?? false) !== offload) {
        throw errors.helperFailed(
          `AttachContainer ${label}: helper did not open offload=${offload}`,
        );
      }
      if (attached.macAddress && attached.macAddress.toLowerCase() !== a.mac) {
        throw errors.helperFailed(
          `AttachContainer ${label}: helper set MAC ${attached.macAddress}, not ${a.mac}`,
        );
      }
      const record = state.updateAttachment(c.id, n.id, {
        ip: attached.ipAddress || a.ip,
        prefixLength: attached.prefixLength || a.prefixLength,
        gateway: attached.gateway || a.gateway,
      });

      undo.push(() => forwarders.detachNetwork(c, record.device));
      const set = await forwarders.attachNetwork(c, {
        device: record.device,
        vsockPort: port,
        ipAddress: record.ip,
        gateway: record.gateway,
        netmask: record.prefixLength,
        macAddress: record.mac,
        defaultRoute: defaultRouteAttachment(state, c.id)?.networkId === n.id,
        mtu: n.mtu,
        offload,
      });
      if ((set.offload ?? false) !== offload) {
        throw errors.forwarderFailed(
          c.name,
          `AttachNetwork ${record.device}: forwarder did not open offload=${offload}`,
        );
      }
      if (set.macAddress && set.macAddress.toLowerCase() !== record.mac) {
        throw errors.forwarderFailed(
          c.name,
          `AttachNetwork ${record.device}: forwarder set MAC ${set.macAddress}, not ${record.mac}`,
        );
      }

      const key = linkKey(c.id, n.id);
      if (mode === 'new' || bridge.framingOf(key) !== framing) {
        await bridge.add({
          key,
          port,
          container: forwarders.endpointOf(c),
          helper: helper.endpoint,
          framing,
        });
        undo.push(() => bridge.remove(key));
      }
      return state.updateAttachment(c.id, n.id, { status: 'ready', framing });
    } catch (err) {
      if (mode === 'replay') throw err;
      for (const step of undo.reverse()) {
        try {
          await step();
        } catch (undoErr) {
          log.warn({ container: c.name, network: n.name, err: undoErr }, 'rollback step failed');
        }
      }
      throw err;
    }
  }

  /** Brings a stopped attachment of a running container back with a fresh port. */
  async restore(c: ContainerRecord, a: AttachmentRecord): Promise<void> {
    const { state, ports } = this.#p;
    const n = state.getNetwork(a.networkId);
    if (!n) throw errors.networkNotFound(a.networkId);
    const port = a.port ?? ports.allocate();
    const record = state.updateAttachment(c.id, n.id, { port, status: 'stopped' });
    try {
      await this.bringUp(c, n, record);
    } catch (err) {
      state.updateAttachment(c.id, n.id, { port: null, status: 'stopped' });
      ports.release(port);
      throw err;
    }
  }

  /**
   * Removes an attachment's relay, forwarder device (when asked) and helper
   * port. With `strict`, a helper failure is thrown (leaving the row as it
   * is); otherwise it is logged. Nothing to remove is not a failure.
   */
  async teardown(
    c: ContainerRecord,
    a: AttachmentRecord,
    how: { forwarder: boolean; strict?: boolean },
  ): Promise<void> {
    const { bridge, helper, forwarders, log } = this.#p;
    bridge.remove(linkKey(c.id, a.networkId));
    if (how.forwarder && forwarders.knows(c.id)) {
      try {
        await forwarders.detachNetwork(c, a.device);
      } catch (err) {
        log.warn({ container: c.name, device: a.device, err }, 'forwarder detach failed');
      }
    }
    try {
      await helper.detachContainer(c.id, a.networkId, c.name);
    } catch (err) {
      if (how.strict) throw err;
      log.warn({ container: c.name, network: a.networkId, err }, 'helper detach failed');
    }
  }

  /** The attachment as the backend reports it, with its relay counters. */
  info(a: AttachmentRecord): AttachmentInfo {
    const { state, bridge } = this.#p;
    const relay = bridge.counters(linkKey(a.containerId, a.networkId));
    return {
      containerId: a.containerId,
      containerName: state.getContainer(a.containerId)?.name ?? '',
      networkId: a.networkId,
      networkName: state.getNetwork(a.networkId)?.name ?? '',
      device: a.device,
      port: a.port,
      ip: a.ip,
      prefixLength: a.prefixLength,
      gateway: a.gateway,
      mac: a.mac,
      aliases: a.aliases,
      status: a.status,
      framing: a.framing ?? 'plain',
      offload: a.offload || this.#p.offloadDefault || 'auto',
      ports: [],
      ...(relay ? { relay } : {}),
    };
  }

  /**
   * Moves the running container's default route to where Docker's rule puts
   * it now (default-route.ts); a failure is logged, the attachments stand.
   */
  async routeDefault(c: ContainerRecord): Promise<void> {
    try {
      await applyDefaultRoute(this.#p.state, this.#p.forwarders, c);
    } catch (err) {
      this.#p.log.warn({ container: c.name, err }, 'default route not moved');
    }
  }
}
