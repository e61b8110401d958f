/**
 * The helper relays: per attachment, a TAP on br-int (bound to its logical
 * switch port by `external_ids:iface-id`) and a listener on `vsock_port +
 * 10000`. Each accepted host connection is relayed to the TAP by the native
 * engine; a new connection replaces the previous relay; the listener stays up
 * until detach. The TAP lives as long as the attachment, so OVN binds the
 * port (and installs its flows) before the container sends its first frame.
 */
import { writeFile } from 'node:fs/promises';
import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';
import { helperDataPort } from '@arca-net/proto';
import type {
  DirectionStats,
  FrameRelay,
  ListenEndpoint,
  RelayCloseInfo,
  StreamListener,
  StreamSocket,
  TapDevice,
} from '@arca-net/vsock';
import type { OvnDriver } from '../ovn/driver.js';
import type { EndpointRecord } from '../ovn/model.js';
import type { AttachmentLink, DataPath, LinkDirectionStats } from './datapath.js';
import type { VsockApi } from './vsock-api.js';

/** How long closing a link waits for its relay to release the TAP. */
const RELAY_CLOSE_WAIT_MS = 2000;

function zero(): LinkDirectionStats {
  return { frames: 0n, bytes: 0n, drops: 0n, protocolErrors: 0n };
}

function add(total: LinkDirectionStats, s: DirectionStats): LinkDirectionStats {
  return {
    frames: total.frames + BigInt(s.frames),
    bytes: total.bytes + BigInt(s.bytes),
    drops: total.drops + BigInt(s.drops),
    protocolErrors: total.protocolErrors + BigInt(s.protocolErrors),
  };
}

class HelperLink implements AttachmentLink {
  connections = 0;
  private relay: FrameRelay | undefined;
  /** Counters of relays that already closed. */
  private past = { toSwitch: zero(), toContainer: zero() };
  private closed = false;

  constructor(
    readonly listenPort: number,
    private readonly tap: TapDevice,
    private readonly listener: StreamListener,
    private readonly vsock: VsockApi,
    private readonly onClose: () => Promise<void>,
    private readonly log: Logger,
  ) {
    listener.on('connection', (socket: StreamSocket) => this.accept(socket));
    listener.on('error', (err: Error) => this.log.error({ err: err.message }, 'listener error'));
  }

  get connected(): boolean {
    return this.relay !== undefined && !this.relay.closed;
  }

  private retire(relay: FrameRelay): void {
    if (relay !== this.relay) return;
    const s = relay.stats();
    // a = TAP, b = stream: aToB is towards the container.
    this.past = {
      toSwitch: add(this.past.toSwitch, s.bToA),
      toContainer: add(this.past.toContainer, s.aToB),
    };
    this.relay = undefined;
  }

  private accept(socket: StreamSocket): void {
    if (this.closed) {
      socket.close();
      return;
    }
    const previous = this.relay;
    if (previous) {
      this.log.info('new host connection replaces the previous relay');
      this.retire(previous);
      previous.close();
    }
    let relay: FrameRelay;
    try {
      relay = this.vsock.Relay.open(
        { kind: 'tap', fd: this.tap.dupFd() },
        { kind: 'stream', fd: socket.detachFd() },
      );
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot open relay');
      socket.close();
      return;
    }
    this.connections++;
    this.relay = relay;
    relay.on('close', (info: RelayCloseInfo) => {
      this.log.info({ reason: info.reason, message: info.message }, 'relay closed');
      this.retire(relay);
    });
    this.log.info({ connections: this.connections }, 'host connected');
  }

  stats(): { toSwitch: LinkDirectionStats; toContainer: LinkDirectionStats } {
    if (!this.relay) return this.past;
    const s = this.relay.stats();
    return {
      toSwitch: add(this.past.toSwitch, s.bToA),
      toContainer: add(this.past.toContainer, s.aToB),
    };
  }

  /**
   * Stops listening, closes the relay and the TAP, unplugs the OVS port.
   * Waits (bounded) until the relay released its dup of the TAP fd, so the
   * kernel has deleted the device and the same name can be created again at once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener.close();
    const relay = this.relay;
    let released: Promise<void> | undefined;
    if (relay && !relay.closed) {
      released = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RELAY_CLOSE_WAIT_MS);
        relay.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (relay) {
      this.retire(relay);
      relay.close();
    }
    this.tap.close();
    await released;
    await this.onClose();
  }
}

/** Options of {@link VsockDataPath}. */
export interface VsockDataPathOptions {
  vsock: VsockApi;
  /** Where helper relays listen (AF_VSOCK in the VM, a unixdir in the lab). */
  listen: ListenEndpoint;
  driver: OvnDriver;
  logger?: Logger;
}

/** The helper relays on `@arca-net/vsock`. */
export class VsockDataPath implements DataPath {
  private readonly log: Logger;
  constructor(private readonly options: VsockDataPathOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'relay' });
  }

  async open(ep: EndpointRecord): Promise<AttachmentLink> {
    const { vsock, driver } = this.options;
    const port = helperDataPort(ep.vsockPort);
    const log = this.log.child({ port, tap: ep.portName });
    const tap = vsock.TapDevice.create(ep.portName, { up: true });
    // The helper's own kernel must not talk on the TAP (no IPv6 ND/MLD into the container's network).
    await writeFile(`/proc/sys/net/ipv6/conf/${ep.portName}/disable_ipv6`, '1').catch(
      () => undefined,
    );
    let listener: StreamListener | undefined;
    try {
      await driver.plugTap({
        name: ep.portName,
        containerId: ep.containerId,
        networkId: ep.networkId,
        containerIface: ep.portName,
      });
      listener = await vsock.listenStream(this.options.listen, port);
    } catch (err) {
      listener?.close();
      tap.close();
      await driver.unplugTap(ep.portName).catch(() => undefined);
      throw err;
    }
    log.info('helper relay listening');
    return new HelperLink(port, tap, listener, vsock, () => driver.unplugTap(ep.portName), log);
  }

  removeStalePorts(names: readonly string[]): Promise<void> {
    return this.options.driver.unplugTaps(names);
  }
}
