/**
 * The helper relays: per attachment, a {@link TapLink} whose TAP is named
 * after the logical switch port (the domain plugs it into br-int and binds it
 * with `external_ids:iface-id`) and whose listener is on `vsock_port + 10000`.
 * The TAP lives as long as the attachment, so OVN binds the port (and installs
 * its flows) before the container sends its first frame.
 */
import { writeFile } from 'node:fs/promises';
import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';
import { helperDataPort } from '@arca-net/proto';
import { type ListenEndpoint, TapLink, type TapLinkPrimitives } from '@arca-net/vsock';
import type { EndpointRecord } from '../ovn/model.js';
import { routerMac } from '../ovn/names.js';
import type { DataPath } from './datapath.js';

/** Options of {@link VsockDataPath}. */
export interface VsockDataPathOptions {
  /** Where helper relays listen (AF_VSOCK in the VM, a unixdir in the lab). */
  listen: ListenEndpoint;
  /** Default: `@arca-net/vsock`'s TAP devices, listeners and native relays. */
  primitives?: TapLinkPrimitives;
  logger?: Logger;
}

/** The helper relays on `@arca-net/vsock`. */
export class VsockDataPath implements DataPath {
  private readonly log: Logger;
  constructor(private readonly options: VsockDataPathOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'relay' });
  }

  async open(ep: EndpointRecord, mtu?: number): Promise<TapLink> {
    const port = helperDataPort(ep.vsockPort);
    const log = this.log.child({ port, tap: ep.portName });
    const link = await TapLink.open({
      name: ep.portName,
      listen: this.options.listen,
      port,
      ...(mtu ? { mtu } : {}),
      offload: ep.offload === true,
      // OVS 3.1's userspace NAT corrupts offloaded checksums: frames to the router leave complete.
      ...(ep.offload ? { finishMac: routerMac(ep.networkId) } : {}),
      primitives: this.options.primitives,
      logger: log,
    });
    // The helper's own kernel must not talk on the TAP (no IPv6 ND/MLD into the container's network).
    await writeFile(`/proc/sys/net/ipv6/conf/${ep.portName}/disable_ipv6`, '1').catch(
      () => undefined,
    );
    log.info('helper relay listening');
    return link;
  }
}
