/**
 * The TAPForwarder service: validates each request, calls one domain
 * function, maps the result. Failures are thrown (the error middleware gives
 * them their status); successful responses carry `success: true`.
 */

import { buildDnsTable, type DnsServer, parseUpstream } from '@arca-net/dns';
import { CAPABILITY_OFFLOAD, type tapforwarder } from '@arca-net/proto';
import {
  addTapLinkStats,
  emptyTapLinkStats,
  readDeviceDrops,
  type TapLinkStats,
} from '@arca-net/vsock';
import type { ServiceImplementation } from 'nice-grpc';
import type { AttachmentInfo, AttachmentManager } from './attachments.js';
import { validateAttach, validateDeviceName, validateSetDefaultRoute } from './validate.js';
import { FORWARDER_VERSION } from './version.js';

export interface TapForwarderServiceDeps {
  attachments: AttachmentManager;
  /** The embedded DNS server; undefined when disabled (snapshots are then validated only). */
  dns: DnsServer | undefined;
  startedAt?: number;
}

/** Sent = TAP → host stream, received = host stream → TAP; errors = drops + protocol errors. */
function packetStats({ toStream, toTap }: TapLinkStats): tapforwarder.PacketStats {
  return {
    packetsSent: BigInt(toStream.frames),
    packetsReceived: BigInt(toTap.frames),
    bytesSent: BigInt(toStream.bytes),
    bytesReceived: BigInt(toTap.bytes),
    sendErrors: BigInt(toStream.drops + toStream.protocolErrors),
    receiveErrors: BigInt(toTap.drops + toTap.protocolErrors),
  };
}

function networkInfo(info: AttachmentInfo): tapforwarder.NetworkInfo {
  return {
    device: info.device,
    ipAddress: info.ipAddress,
    gateway: info.gateway,
    vsockPort: info.vsockPort,
    macAddress: info.mac,
    stats: packetStats(info.stats),
    prefixLength: info.prefixLength,
    connected: info.connected,
    tapDrops: undefined,
  };
}

/** The TAP's kernel drop counters in this namespace; undefined when unreadable. */
async function tapDrops(device: string): Promise<tapforwarder.DeviceDrops | undefined> {
  const d = await readDeviceDrops(device).catch(() => undefined);
  return d && { rxDropped: BigInt(d.rxDropped), txDropped: BigInt(d.txDropped) };
}

/** Builds the `TAPForwarder` implementation over the given domain objects. */
export function createTapForwarderService(
  deps: TapForwarderServiceDeps,
): ServiceImplementation<tapforwarder.TAPForwarderDefinition> {
  const startedAt = deps.startedAt ?? Date.now();
  return {
    async attachNetwork(request) {
      const info = await deps.attachments.attach(validateAttach(request));
      return {
        success: true,
        error: '',
        macAddress: info.mac,
        ipAddress: info.ipAddress,
        prefixLength: info.prefixLength,
        offload: info.offload,
      };
    },

    async detachNetwork(request) {
      await deps.attachments.detach(validateDeviceName(request.device));
      return { success: true, error: '' };
    },

    async listNetworks() {
      const networks = deps.attachments.list().map(networkInfo);
      // The TAP's own kernel counters: frames its queue dropped (a flood faster than the relay).
      for (const n of networks) n.tapDrops = await tapDrops(n.device);
      return { networks };
    },

    async getStatus() {
      const list = deps.attachments.list();
      const total = list.reduce(
        (sum, info) => addTapLinkStats(sum, info.stats),
        emptyTapLinkStats(),
      );
      return {
        version: FORWARDER_VERSION,
        activeNetworks: list.length,
        uptimeSeconds: BigInt(Math.floor((Date.now() - startedAt) / 1000)),
        totalStats: packetStats(total),
        capabilities: [CAPABILITY_OFFLOAD],
      };
    },

    async updateDNSMappings(request) {
      const upstreams = request.upstreamServers.map(parseUpstream);
      const table = buildDnsTable(request.networks);
      deps.dns?.setTable(table);
      if (upstreams.length > 0) deps.dns?.setUpstreams(upstreams);
      return { success: true, error: '', recordsUpdated: table.size };
    },

    async setDefaultRoute(request) {
      const { device, gateway } = validateSetDefaultRoute(request);
      await deps.attachments.setDefaultRoute(device, gateway);
      return { success: true, error: '' };
    },
  };
}
