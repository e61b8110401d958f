/**
 * The forwarder's attachments: one per device, each owning a TAP, the data
 * listener on its port and (while the host is connected) one relay. Attach
 * and detach run one at a time, are idempotent on the device, and leave
 * nothing behind when they fail.
 */
import { type Logger, silentLogger } from '@arca-net/log';
import { randomMac } from '@arca-net/netaddr';
import {
  type ListenEndpoint,
  TapLink,
  TapLinkError,
  type TapLinkPrimitives,
  type TapLinkStats,
} from '@arca-net/vsock';
import { ForwarderError } from './errors.js';
import type { DhcpLease } from './netconf/dhcp.js';
import type { IpTool } from './netconf/ip.js';
import type { AttachParams } from './validate.js';

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
  /** The data stream uses offload framing. */
  offload: boolean;
  /** Host connections accepted so far. */
  connections: number;
  /** Summed over every relay of the attachment (reconnects keep totals). */
  stats: TapLinkStats;
}

export interface AttachmentManagerOptions {
  /** TAP devices, listeners and relays (default: `@arca-net/vsock`'s own; tests fake them). */
  primitives?: TapLinkPrimitives;
  ip: IpTool;
  /** Where data ports listen (vsock in the VM, a unixdir in the lab). */
  listen: ListenEndpoint;
  /** Obtains a DHCP lease for a device (DHCP mode only). */
  dhcp: (device: string, signal: AbortSignal) => Promise<DhcpLease>;
  logger?: Logger;
}

/** One device: its TAP link, plus the DHCP client started by the first host connection. */
class Attachment {
  private dhcpStarted = false;
  private readonly dhcpAbort = new AbortController();
  lease: DhcpLease | undefined;

  constructor(
    readonly params: AttachParams,
    readonly link: TapLink,
    private readonly owner: AttachmentManagerOptions,
    private readonly log: Logger,
  ) {
    link.on('connection', () => {
      if (this.params.ipAddress === '' && !this.dhcpStarted) this.startDhcp();
    });
  }

  private startDhcp(): void {
    this.dhcpStarted = true;
    const { device } = this.params;
    this.owner
      .dhcp(device, this.dhcpAbort.signal)
      .then(async (lease) => {
        if (this.dhcpAbort.signal.aborted) return;
        await this.owner.ip.setAddress(device, lease.address, lease.prefixLength);
        if (this.params.defaultRoute && lease.router)
          await this.owner.ip.setDefaultRoute(device, lease.router);
        this.lease = lease;
      })
      .catch((error: unknown) => {
        if (!this.dhcpAbort.signal.aborted) this.log.warn({ err: error }, 'dhcp failed');
      });
  }

  info(): AttachmentInfo {
    const p = this.params;
    const isStatic = p.ipAddress !== '';
    return {
      device: p.device,
      vsockPort: p.vsockPort,
      mac: this.link.mac,
      ipAddress: isStatic ? p.ipAddress : (this.lease?.address ?? ''),
      prefixLength: isStatic ? p.prefixLength : (this.lease?.prefixLength ?? 0),
      gateway: isStatic ? p.gateway : (this.lease?.router ?? p.gateway),
      connected: this.link.connected,
      offload: this.link.offload,
      connections: this.link.connections,
      stats: this.link.stats(),
    };
  }

  /** Stops DHCP and closes the link (resolves once the TAP's name is free again). */
  async close(): Promise<void> {
    this.dhcpAbort.abort();
    await this.link.close();
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
    have.offload === wanted.offload &&
    (wanted.mac === '' || wanted.mac === existing.link.mac)
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
      let link: TapLink;
      try {
        link = await TapLink.open({
          name: params.device,
          mac,
          mtu: params.mtu,
          offload: params.offload,
          listen: this.options.listen,
          port: params.vsockPort,
          logger: log,
          primitives: this.options.primitives,
        });
      } catch (error) {
        if (!(error instanceof TapLinkError)) throw error;
        const code = error.step === 'create-tap' ? 'TAP_FAILED' : 'LISTEN_FAILED';
        throw new ForwarderError(code, error.message, { cause: error });
      }
      const attachment = new Attachment(params, link, this.options, log);
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
      log.info({ mac: link.mac, ip: params.ipAddress || 'dhcp' }, 'attached');
      return attachment.info();
    });
  }

  /**
   * Makes `gateway` on `device` the one default route (a DHCP device without
   * a gateway uses its lease's router, or gets it when the lease arrives);
   * `device === ''` removes the default route. Later replays of AttachNetwork
   * carry the new flag.
   */
  setDefaultRoute(device: string, gateway: string): Promise<void> {
    return this.serialize(async () => {
      const target = device === '' ? undefined : this.attachments.get(device);
      if (device !== '' && !target) {
        throw new ForwarderError('DEVICE_NOT_FOUND', `device ${device} is not attached`);
      }
      const via =
        gateway !== '' ? gateway : (target?.lease?.router ?? target?.params.gateway ?? '');
      if (target && via === '' && target.params.ipAddress !== '') {
        throw new ForwarderError('INVALID_ARGUMENT', `device ${device} has no gateway`);
      }
      for (const a of this.attachments.values()) a.params.defaultRoute = a === target;
      if (target && via !== '') {
        await this.options.ip.setDefaultRoute(device, via);
      } else if (!target) {
        await this.options.ip.removeDefaultRoute();
      }
      this.log.info({ device: device || 'none', gateway: via }, 'default route');
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
