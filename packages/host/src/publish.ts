/**
 * Published ports of the backend's containers (`docker run -p`): per
 * container, the requests the user made and the bindings that are live. A
 * binding is a host listener (port-forward.ts) plus the helper's load
 * balancer (`PublishPort`) on the external address of the container's first
 * non-internal network, created in that order and undone in reverse, so a
 * failure leaves neither. Requests outlive a stop: bindings are released on
 * stop, disconnect of their network and removal, and made again on start.
 * The requests are persisted (state `meta` rows `ports:<container id>`,
 * written only once a publish succeeded): after a daemon or helper restart,
 * {@link Publisher.reconcile} makes listeners and load balancers again.
 */
import type { Logger } from '@arca-net/log';
import { errors, isBackendError } from './errors.js';
import type { HelperClient } from './helper-client.js';
import { type ForwardTarget, listenPublished, type PortListener } from './port-forward.js';
import {
  type PortBinding,
  type PortProtocol,
  type PortRequest,
  parsePortFilter,
} from './port-spec.js';
import type { ContainerRecord, StateStore } from './state.js';

/** A live binding and what it holds. */
interface Live {
  binding: PortBinding;
  networkId: string;
  listener: PortListener;
  /** The load balancer's `ip:port` on the network's external address. */
  externalAddress: string;
}

/** A published port as the backend reports it: Docker's binding plus where the helper serves it. */
export interface PublishedPort extends PortBinding {
  networkId: string;
  /** `ip:port` of the load balancer on the network's external address (the outside's way in). */
  externalAddress: string;
}

/** What a {@link Publisher} needs of the backend. */
export interface PublisherParts {
  state: StateStore;
  helper: HelperClient;
  log: Logger;
}

/** Key prefix of the persisted requests in the state's `meta` table. */
const META_PREFIX = 'ports:';

const overlaps = (a: string, b: string) => a === b || a === '0.0.0.0' || b === '0.0.0.0';

/** The published ports of every container of one backend. */
export class Publisher {
  readonly #p: PublisherParts;
  readonly #requests = new Map<string, PortRequest[]>();
  readonly #live = new Map<string, Live[]>();

  constructor(parts: PublisherParts) {
    this.#p = parts;
    for (const [key, value] of parts.state.metaWithPrefix(META_PREFIX)) {
      this.#requests.set(key.slice(META_PREFIX.length), JSON.parse(value) as PortRequest[]);
    }
  }

  #save(containerId: string): void {
    const requests = this.#requests.get(containerId);
    this.#p.state.setMeta(
      `${META_PREFIX}${containerId}`,
      requests && requests.length > 0 ? JSON.stringify(requests) : null,
    );
  }

  /**
   * After a daemon or helper restart: every running container's requests get
   * their listeners back, and live bindings their load balancers (the
   * helper's PublishPort is idempotent). Failures are logged, not thrown.
   */
  async reconcile(): Promise<void> {
    for (const containerId of this.#requests.keys()) {
      const c = this.#p.state.getContainer(containerId);
      if (!c?.running) continue;
      for (const l of this.#live.get(c.id) ?? []) {
        await this.#loadBalancer(c, l.networkId, l.binding).catch((err: unknown) =>
          this.#p.log.warn({ container: c.name, err }, 'load balancer not restored'),
        );
      }
      await this.restore(c);
    }
  }

  /** The container's live bindings (all, or those on one network). */
  bindings(containerId: string, networkId?: string): PublishedPort[] {
    return (this.#live.get(containerId) ?? [])
      .filter((l) => networkId === undefined || l.networkId === networkId)
      .map((l) => ({ ...l.binding, networkId: l.networkId, externalAddress: l.externalAddress }));
  }

  /** `docker port`: every binding, or those of `PORT[/PROTO]` (NO_PUBLIC_PORT when none). */
  find(c: ContainerRecord, filter?: string): PublishedPort[] {
    const all = this.bindings(c.id);
    if (filter === undefined) return all;
    const { containerPort, protocol } = parsePortFilter(filter);
    const found = all.filter((b) => b.containerPort === containerPort && b.protocol === protocol);
    if (found.length === 0) throw errors.noPublicPort(`${containerPort}/${protocol}`, c.name);
    return found;
  }

  /**
   * Publishes `requests` for `c` and remembers them. A stopped container
   * only remembers them (they come up at start). All or nothing: on a
   * failure every binding made by this call is undone.
   */
  async publish(c: ContainerRecord, requests: PortRequest[]): Promise<PublishedPort[]> {
    if (requests.length === 0) return this.bindings(c.id);
    const made: Live[] = [];
    if (c.running) {
      try {
        for (const r of requests) made.push(await this.#bind(c, r, made));
      } catch (err) {
        for (const l of made.reverse()) await this.#unbind(c, l);
        throw err;
      }
    }
    this.#requests.set(c.id, [...(this.#requests.get(c.id) ?? []), ...requests]);
    this.#save(c.id);
    this.#live.set(c.id, [...(this.#live.get(c.id) ?? []), ...made]);
    return this.bindings(c.id);
  }

  /** Makes the remembered requests live again (after start); failures are logged, not thrown. */
  async restore(c: ContainerRecord): Promise<void> {
    const requests = this.#requests.get(c.id) ?? [];
    if (requests.length === 0 || (this.#live.get(c.id)?.length ?? 0) > 0) return;
    const made: Live[] = [];
    for (const r of requests) {
      try {
        made.push(await this.#bind(c, r, made));
      } catch (err) {
        this.#p.log.warn({ container: c.name, err }, 'published port not restored');
      }
    }
    this.#live.set(c.id, made);
  }

  /** Releases the container's live bindings (all, or those on one network); requests stay. */
  async release(c: ContainerRecord, networkId?: string): Promise<void> {
    const live = this.#live.get(c.id) ?? [];
    const keep: Live[] = [];
    for (const l of live) {
      if (networkId === undefined || l.networkId === networkId) await this.#unbind(c, l);
      else keep.push(l);
    }
    if (keep.length > 0) this.#live.set(c.id, keep);
    else this.#live.delete(c.id);
  }

  /** Releases everything of a removed container and forgets its requests. */
  async forget(c: ContainerRecord): Promise<void> {
    await this.release(c);
    this.#requests.delete(c.id);
    this.#save(c.id);
  }

  /** Closes every listener (backend close); the helper's load balancers stay. */
  async close(): Promise<void> {
    for (const live of this.#live.values()) for (const l of live) await l.listener.close();
    this.#live.clear();
  }

  /** The network that carries the container's published ports: its first non-internal one. */
  #networkOf(c: ContainerRecord): { id: string; name: string } {
    const { state } = this.#p;
    const attached = state
      .attachmentsOfContainer(c.id)
      .filter((a) => a.status === 'ready')
      .sort((a, b) => a.seq - b.seq)
      .map((a) => state.getNetwork(a.networkId))
      .filter((n) => n !== undefined);
    const carrier = attached.find((n) => !n.internal);
    if (!carrier) {
      throw errors.portsOnInternalNetwork(
        attached[0]?.name ?? '(none: the container is on no network)',
      );
    }
    return carrier;
  }

  #taken(protocol: PortProtocol, hostIp: string, port: number, pending: Live[]): boolean {
    const all = [...[...this.#live.values()].flat(), ...pending];
    return all.some(
      (l) =>
        l.binding.protocol === protocol &&
        l.binding.hostPort === port &&
        overlaps(l.binding.hostIp, hostIp),
    );
  }

  /** Listener first (a bind error leaves nothing), then the load balancer. */
  async #bind(c: ContainerRecord, r: PortRequest, pending: Live[]): Promise<Live> {
    const network = this.#networkOf(c);
    const candidates =
      r.hostPort === 0
        ? [0]
        : Array.from({ length: r.hostPortEnd - r.hostPort + 1 }, (_, i) => r.hostPort + i);
    const target: ForwardTarget = { networkId: network.id, protocol: r.protocol, lbPort: 0 };
    let listener: PortListener | undefined;
    for (const port of candidates) {
      if (port !== 0 && this.#taken(r.protocol, r.hostIp, port, pending)) continue;
      try {
        listener = await listenPublished(
          this.#p.helper.endpoint,
          r.hostIp,
          port,
          target,
          this.#p.log,
        );
        break;
      } catch (err) {
        // A pool of host ports goes on to the next one; a fixed port fails as it is.
        if (candidates.length === 1 || !isBackendError(err, 'PORT_IN_USE')) throw err;
      }
    }
    if (!listener) {
      const range =
        r.hostPortEnd > r.hostPort ? `${r.hostPort}-${r.hostPortEnd}` : String(r.hostPort);
      throw errors.portAlreadyAllocated(r.hostIp, range);
    }
    target.lbPort = listener.port;
    const binding: PortBinding = {
      hostIp: r.hostIp,
      hostPort: listener.port,
      containerPort: r.containerPort,
      protocol: r.protocol,
    };
    try {
      const externalAddress = await this.#loadBalancer(c, network.id, binding);
      this.#p.log.info({ container: c.name, ...binding, externalAddress }, 'port published');
      return { binding, networkId: network.id, listener, externalAddress };
    } catch (err) {
      await listener.close();
      throw err;
    }
  }

  /** The helper's load balancer of a binding; returns its `ip:port`. */
  #loadBalancer(c: ContainerRecord, networkId: string, b: PortBinding): Promise<string> {
    return this.#p.helper.publishPort(
      {
        networkId,
        containerId: c.id,
        protocol: b.protocol,
        hostPort: b.hostPort,
        containerPort: b.containerPort,
      },
      `${b.protocol}/${b.hostPort} of ${c.name}`,
    );
  }

  async #unbind(c: ContainerRecord, l: Live): Promise<void> {
    await l.listener.close();
    const { protocol, hostPort } = l.binding;
    await this.#p.helper
      .unpublishPort(
        { networkId: l.networkId, protocol, hostPort },
        `${protocol}/${hostPort} of ${c.name}`,
      )
      .catch((err: unknown) => this.#p.log.warn({ err, container: c.name }, 'unpublish failed'));
  }
}
