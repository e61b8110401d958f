/**
 * Starts the whole forwarder: the gRPC server (TAPForwarder, health and
 * reflection) on its listen address, the attachment manager and the embedded
 * DNS server.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@arca-net/log';
import { descriptorSetPath, FORWARDER_CONTROL_PORT, tapforwarder } from '@arca-net/proto';
import {
  type ListenEndpoint,
  listenStream,
  proxyListenerTo,
  type TapLinkPrimitives,
} from '@arca-net/vsock';
import { ServerCredentials } from '@grpc/grpc-js';
import { createServer } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl } from 'nice-grpc-server-health';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import { AttachmentManager } from './attachments.js';
import { DnsServer } from './dns/server.js';
import { parseUpstream, systemUpstreams, type Upstream } from './dns/upstream.js';
import { invalidArgument } from './errors.js';
import { errorMappingMiddleware, loggingMiddleware } from './middleware.js';
import { type DhcpOptions, obtainLease } from './netconf/dhcp.js';
import { execRunner, IpTool } from './netconf/ip.js';
import { createTapForwarderService } from './service.js';

/** Where the forwarder listens: its gRPC port and, on the same endpoint, every data port. */
export interface ForwarderListen {
  endpoint: ListenEndpoint;
  /** gRPC port, default 5555. */
  port: number;
}

/** Parses `vsock`, `vsock:PORT` or `unixdir:DIR` (gRPC then on `DIR/5555.sock`). */
export function parseForwarderListen(text: string): ForwarderListen {
  if (text === 'vsock') return { endpoint: { kind: 'vsock' }, port: FORWARDER_CONTROL_PORT };
  const vsock = /^vsock:(\d+)$/.exec(text);
  if (vsock) {
    const port = Number(vsock[1]);
    if (port < 1 || port > 0xffffffff) throw invalidArgument(`--listen ${text}: bad port`);
    return { endpoint: { kind: 'vsock' }, port };
  }
  if (text.startsWith('unixdir:') && text.length > 'unixdir:'.length) {
    return {
      endpoint: { kind: 'unixdir', dir: text.slice('unixdir:'.length) },
      port: FORWARDER_CONTROL_PORT,
    };
  }
  throw invalidArgument(`--listen ${JSON.stringify(text)}: expected vsock[:PORT] or unixdir:DIR`);
}

/** Parses `--dns`: `off`, `HOST` or `HOST:PORT` (port 0 = any free one). */
export function parseDnsListen(text: string): Upstream | 'off' {
  return text === 'off' ? 'off' : parseUpstream(text, 0);
}

export interface ForwarderOptions {
  listen: ForwarderListen | string;
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

    const server = createServer()
      .use(loggingMiddleware(logger.child({ component: 'grpc' })))
      .use(errorMappingMiddleware);
    server.add(
      tapforwarder.TAPForwarderDefinition,
      createTapForwarderService({ attachments, dns }),
    );
    server.add(HealthDefinition, HealthServiceImpl());
    server.add(
      ServerReflectionService,
      ServerReflection(readFileSync(descriptorSetPath), [
        tapforwarder.TAPForwarderDefinition.fullName,
        'grpc.health.v1.Health',
      ]),
    );

    let socketPath: string;
    if (listen.endpoint.kind === 'unixdir') {
      mkdirSync(listen.endpoint.dir, { recursive: true });
      socketPath = join(listen.endpoint.dir, `${listen.port}.sock`);
    } else {
      const privateDir = mkdtempSync(join(tmpdir(), 'arca-net-forwarder-'));
      cleanups.push(() => rmSync(privateDir, { recursive: true, force: true }));
      socketPath = join(privateDir, 'grpc.sock');
    }
    rmSync(socketPath, { force: true });
    await server.listen(`unix:${socketPath}`, ServerCredentials.createInsecure());
    cleanups.push(async () => {
      server.forceShutdown();
      rmSync(socketPath, { force: true });
    });
    if (listen.endpoint.kind === 'vsock') {
      const vsockListener = await listenStream(listen.endpoint, listen.port);
      cleanups.push(() => vsockListener.close());
      const proxy = proxyListenerTo(vsockListener, socketPath);
      cleanups.push(() => proxy.close());
    }
    logger.info(
      { grpc: `unix:${socketPath}`, listen: listen.endpoint, port: listen.port, dns: dns?.address },
      'forwarder ready',
    );
    let closing: Promise<void> | undefined;
    return {
      grpcAddress: `unix:${socketPath}`,
      grpcSocketPath: socketPath,
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
