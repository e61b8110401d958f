/**
 * The forwarder's attachments: one per device, each owning a TAP, the data
 * listener on its port and (while the host is connected) one relay. Attach
 * and detach run one at a time, are idempotent on the device, and leave
 * nothing behind when they fail.
 */
import { type Logger, silentLogger } from '@arca-net/log';
import { randomMac } from '@arca-net/netaddr';
import type {
  DataListener,
  DataPlane,
  DataRelay,
  DataSocket,
  DataTap,
  ListenEndpoint,
} from './dataplane.js';
import { ForwarderError } from './errors.js';
import type { DhcpLease } from './netconf/dhcp.js';
import type { IpTool } from './netconf/ip.js';
import type { AttachParams } from './validate.js';

/** Frame counters of one attachment, summed over all its relays (reconnects keep totals). */
export interface AttachmentCounters {
  /** TAP → host stream. */
  framesSent: number;
  bytesSent: number;
  /** host stream → TAP. */
  framesReceived: number;
  bytesReceived: number;
  sendErrors: number;
  receiveErrors: number;
}

/** What ListNetworks reports for a device. */
export interface AttachmentInfo {
  device: string;
  vsockPort: number;
  mac: string;
  /** The static address, the DHCP lease's, or '' while DHCP is pending. */
  ipAddress: string;
  prefixLength: number;
  gateway: string;
  connected: boolean;
  /** Host connections accepted so far. */
  connections: number;
  counters: AttachmentCounters;
}

export interface AttachmentManagerOptions {
  dataPlane: DataPlane;
  ip: IpTool;
  /** Where data ports listen (vsock in the VM, a unixdir in the lab). */
  listen: ListenEndpoint;
  /** Obtains a DHCP lease for a device (DHCP mode only). */
  dhcp: (device: string, signal: AbortSignal) => Promise<DhcpLease>;
  logger?: Logger;
}

/** How long detach waits for a relay to release the TAP. */
const RELAY_CLOSE_WAIT_MS = 2000;

const zeroCounters = (): AttachmentCounters => ({
  framesSent: 0,
  bytesSent: 0,
  framesReceived: 0,
  bytesReceived: 0,
  sendErrors: 0,
  receiveErrors: 0,
});

/** Adds `b` to `a` in place. */
export function addCounters(a: AttachmentCounters, b: AttachmentCounters): AttachmentCounters {
  a.framesSent += b.framesSent;
  a.bytesSent += b.bytesSent;
  a.framesReceived += b.framesReceived;
  a.bytesReceived += b.bytesReceived;
  a.sendErrors += b.sendErrors;
  a.receiveErrors += b.receiveErrors;
  return a;
}

function relayCounters(relay: DataRelay): AttachmentCounters {
  const { aToB, bToA } = relay.stats();
  return {
    framesSent: aToB.frames,
    bytesSent: aToB.bytes,
    framesReceived: bToA.frames,
    bytesReceived: bToA.bytes,
    sendErrors: aToB.drops + aToB.protocolErrors,
    receiveErrors: bToA.drops + bToA.protocolErrors,
  };
}

class Attachment {
  private relay: DataRelay | undefined;
  private readonly retired = zeroCounters();
  private connections = 0;
  private dhcpStarted = false;
  private readonly dhcpAbort = new AbortController();
  lease: DhcpLease | undefined;

  constructor(
    readonly params: AttachParams,
    readonly tap: DataTap,
    readonly listener: DataListener,
    private readonly owner: AttachmentManagerOptions,
    private readonly log: Logger,
  ) {
    listener.on('connection', (socket: DataSocket) => this.accept(socket));
    listener.on('error', (error: Error) => log.error({ err: error }, 'data listener error'));
  }

  /** A host connection: replaces the previous relay, then (DHCP mode) starts the client once. */
  private accept(socket: DataSocket): void {
    this.retireRelay();
    let relay: DataRelay;
    try {
      relay = this.owner.dataPlane.openRelay(this.tap.dupFd(), socket.detachFd());
    } catch (error) {
      socket.close();
      this.log.error({ err: error }, 'cannot start relay');
      return;
    }
    this.connections++;
    this.relay = relay;
    relay.once('close', (info: unknown) => {
      this.log.info({ info }, 'relay closed');
      if (this.relay === relay) this.retireRelay();
    });
    this.log.info({ connections: this.connections }, 'host connected, relay running');
    if (this.params.ipAddress === '' && !this.dhcpStarted) this.startDhcp();
  }

  private retireRelay(): void {
    const relay = this.relay;
    if (!relay) return;
    this.relay = undefined;
    addCounters(this.retired, relayCounters(relay));
    relay.close();
  }

  private startDhcp(): void {
    this.dhcpStarted = true;
    const { device, defaultRoute } = this.params;
    this.owner
      .dhcp(device, this.dhcpAbort.signal)
      .then(async (lease) => {
        if (this.dhcpAbort.signal.aborted) return;
        await this.owner.ip.setAddress(device, lease.address, lease.prefixLength);
        if (defaultRoute && lease.router) await this.owner.ip.setDefaultRoute(device, lease.router);
        this.lease = lease;
      })
      .catch((error: unknown) => {
        if (!this.dhcpAbort.signal.aborted) this.log.warn({ err: error }, 'dhcp failed');
      });
  }

  counters(): AttachmentCounters {
    const total = addCounters(zeroCounters(), this.retired);
    return this.relay ? addCounters(total, relayCounters(this.relay)) : total;
  }

  info(): AttachmentInfo {
    const p = this.params;
    const isStatic = p.ipAddress !== '';
    return {
      device: p.device,
      vsockPort: p.vsockPort,
      mac: this.tap.mac,
      ipAddress: isStatic ? p.ipAddress : (this.lease?.address ?? ''),
      prefixLength: isStatic ? p.prefixLength : (this.lease?.prefixLength ?? 0),
      gateway: isStatic ? p.gateway : (this.lease?.router ?? p.gateway),
      connected: this.relay !== undefined && !this.relay.closed,
      connections: this.connections,
      counters: this.counters(),
    };
  }

  /**
   * Stops DHCP, the relay and the listener and closes the TAP. Resolves once
   * the relay has released its dup of the TAP fd (bounded), so the kernel has
   * deleted the device and the name can be attached again at once.
   */
  async close(): Promise<void> {
    this.dhcpAbort.abort();
    const relay = this.relay;
    const released = relay
      ? new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RELAY_CLOSE_WAIT_MS);
          relay.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        })
      : undefined;
    this.retireRelay();
    this.listener.close();
    this.tap.close();
    await released;
  }
}

function sameParams(existing: Attachment, wanted: AttachParams): boolean {
  const have = existing.params;
  return (
    have.vsockPort === wanted.vsockPort &&
    have.ipAddress === wanted.ipAddress &&
    have.gateway === wanted.gateway &&
    have.prefixLength === wanted.prefixLength &&
    have.defaultRoute === wanted.defaultRoute &&
    have.mtu === wanted.mtu &&
    (wanted.mac === '' || wanted.mac === existing.tap.mac)
  );
}

/** Owns every attachment of this forwarder. */
export class AttachmentManager {
  private readonly attachments = new Map<string, Attachment>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly options: AttachmentManagerOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'attachments' });
  }

  /** Runs `task` after every earlier attach/detach has finished. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Creates the TAP, binds the data listener (bound when this resolves),
   * applies a static address and route; DHCP starts on the first host connection.
   * Same device and parameters again → the existing attachment.
   */
  attach(params: AttachParams): Promise<AttachmentInfo> {
    return this.serialize(async () => {
      const existing = this.attachments.get(params.device);
      if (existing) {
        if (sameParams(existing, params)) return existing.info();
        throw new ForwarderError(
          'ATTACHMENT_CONFLICT',
          `device ${params.device} is already attached with other parameters`,
        );
      }
      for (const other of this.attachments.values()) {
        if (other.params.vsockPort === params.vsockPort) {
          throw new ForwarderError(
            'ATTACHMENT_CONFLICT',
            `port ${params.vsockPort} is already used by device ${other.params.device}`,
          );
        }
      }
      const log = this.log.child({ device: params.device, port: params.vsockPort });
      const mac = params.mac === '' ? randomMac() : params.mac;
      let tap: DataTap;
      try {
        tap = this.options.dataPlane.createTap(params.device, { mac, mtu: params.mtu });
      } catch (error) {
        throw new ForwarderError(
          'TAP_FAILED',
          `cannot create TAP ${params.device}: ${message(error)}`,
          {
            cause: error,
          },
        );
      }
      let listener: DataListener;
      try {
        listener = await this.options.dataPlane.listen(this.options.listen, params.vsockPort);
      } catch (error) {
        tap.close();
        throw new ForwarderError(
          'LISTEN_FAILED',
          `cannot listen on data port ${params.vsockPort}: ${message(error)}`,
          { cause: error },
        );
      }
      const attachment = new Attachment(params, tap, listener, this.options, log);
      try {
        if (params.ipAddress !== '') {
          await this.options.ip.setAddress(params.device, params.ipAddress, params.prefixLength);
          if (params.defaultRoute) {
            await this.options.ip.setDefaultRoute(params.device, params.gateway);
          }
        }
      } catch (error) {
        await attachment.close();
        throw error;
      }
      this.attachments.set(params.device, attachment);
      log.info({ mac: tap.mac, ip: params.ipAddress || 'dhcp' }, 'attached');
      return attachment.info();
    });
  }

  /** Stops the relay, closes the listener and deletes the TAP. */
  detach(device: string): Promise<void> {
    return this.serialize(async () => {
      const attachment = this.attachments.get(device);
      if (!attachment)
        throw new ForwarderError('DEVICE_NOT_FOUND', `device ${device} is not attached`);
      this.attachments.delete(device);
      await attachment.close();
      this.log.info({ device }, 'detached');
    });
  }

  list(): AttachmentInfo[] {
    return [...this.attachments.values()].map((a) => a.info());
  }

  /** Detaches everything. */
  async close(): Promise<void> {
    await this.serialize(async () => {
      const all = [...this.attachments.values()];
      this.attachments.clear();
      await Promise.all(all.map((attachment) => attachment.close()));
    });
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
