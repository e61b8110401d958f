/**
 * Starts the whole forwarder: the embedded DNS server, the attachment manager
 * and, through @arca-net/rpc, the gRPC server (TAPForwarder beside health and
 * reflection) on its listen address.
 */

import {
  DnsInputError,
  DnsServer,
  parseUpstream,
  systemUpstreams,
  type Upstream,
} from '@arca-net/dns';
import { type Logger, silentLogger } from '@arca-net/log';
import { FORWARDER_CONTROL_PORT, tapforwarder } from '@arca-net/proto';
import { type ListenAddress, parseListenAddress, rpcService, startRpcServer } from '@arca-net/rpc';
import type { TapLinkPrimitives } from '@arca-net/vsock';
import { AttachmentManager } from './attachments.js';
import { ForwarderError, forwarderErrors } from './errors.js';
import { type DhcpOptions, obtainLease } from './netconf/dhcp.js';
import { execRunner, IpTool } from './netconf/ip.js';
import { createTapForwarderService } from './service.js';

/** Parses `vsock`, `vsock:PORT` or `unixdir:/DIR` (gRPC then on `DIR/5555.sock`). */
export function parseForwarderListen(text: string): ListenAddress {
  return parseListenAddress(text, FORWARDER_CONTROL_PORT);
}

/** The gRPC status of a forwarder error, from its table; other errors are not ours. */
function forwarderErrorStatus(error: unknown) {
  if (error instanceof DnsInputError) return forwarderErrors.INVALID_ARGUMENT.status;
  return error instanceof ForwarderError ? forwarderErrors[error.code].status : undefined;
}

/** Parses `--dns`: `off`, `HOST` or `HOST:PORT` (port 0 = any free one). */
export function parseDnsListen(text: string): Upstream | 'off' {
  return text === 'off' ? 'off' : parseUpstream(text, 0);
}

export interface ForwarderOptions {
  /** gRPC on this address, every data port on the same endpoint. */
  listen: ListenAddress | string;
  /** Embedded DNS address, `'off'`, default 127.0.0.11:53. */
  dns?: Upstream | 'off' | string;
  /** Upstream resolvers; default: /etc/resolv.conf's at start. */
  dnsUpstreams?: string[];
  logger?: Logger;
  /** TAP devices, data listeners and relays; default `@arca-net/vsock`'s (tests fake them). */
  primitives?: TapLinkPrimitives;
  /** The `ip` wrapper (tests inject a fake runner). */
  ip?: IpTool;
  /** DHCP client settings for devices attached without an address. */
  dhcp?: Omit<DhcpOptions, 'signal'>;
}

/** A running forwarder. */
export interface Forwarder {
  /** The gRPC address grpc-js listens on (`unix:/path`; clients of nice-grpc dial `unix:///path`). */
  readonly grpcAddress: string;
  /** The Unix socket of that address (`DIR/5555.sock` for unixdir). */
  readonly grpcSocketPath: string;
  /** The embedded DNS server's address, if enabled. */
  readonly dnsAddress: Upstream | undefined;
  /** Detaches every device, stops DNS and gRPC. Idempotent. */
  close(): Promise<void>;
}

/** Starts a forwarder in this process; resolves once gRPC, DNS and the listeners are up. */
export async function startForwarder(options: ForwarderOptions): Promise<Forwarder> {
  const logger = (options.logger ?? silentLogger).child({ component: 'forwarder' });
  const listen =
    typeof options.listen === 'string' ? parseForwarderListen(options.listen) : options.listen;
  const dnsSetting =
    typeof options.dns === 'string'
      ? parseDnsListen(options.dns)
      : (options.dns ?? { host: '127.0.0.11', port: 53 });
  const upstreams = options.dnsUpstreams
    ? options.dnsUpstreams.map(parseUpstream)
    : systemUpstreams();
  const ip = options.ip ?? new IpTool(execRunner(5000, logger.child({ component: 'ip' })));
  const cleanups: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn({ err: error }, 'cleanup failed');
      }
    }
  };
  try {
    const dns =
      dnsSetting === 'off'
        ? undefined
        : await DnsServer.start({ ...dnsSetting, upstreams, logger });
    if (dns) cleanups.push(() => dns.close());

    const attachments = new AttachmentManager({
      primitives: options.primitives,
      ip,
      listen: listen.endpoint,
      dhcp: (device, signal) => obtainLease(device, { ...options.dhcp, signal, logger }),
      logger,
    });
    cleanups.push(() => attachments.close());

    const rpc = await startRpcServer({
      listen,
      name: 'forwarder',
      services: [
        rpcService(
          tapforwarder.TAPForwarderDefinition,
          createTapForwarderService({ attachments, dns }),
        ),
      ],
      errorStatus: forwarderErrorStatus,
      logger,
    });
    cleanups.push(() => rpc.close());
    logger.info({ grpc: rpc.address, dns: dns?.address }, 'forwarder ready');
    let closing: Promise<void> | undefined;
    return {
      grpcAddress: rpc.address,
      grpcSocketPath: rpc.socketPath,
      dnsAddress: dns?.address,
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
