/**
 * The host's half of a published port: a listener on hostIP:hostPort that
 * carries each accepted TCP connection, or each UDP peer, over one stream to
 * the helper VM's port forwarder (vsock PORT_FORWARD_PORT), which connects to
 * the network's load balancer (packages/controller/src/relay/port-forward.ts).
 * The stream starts with `tcp|udp NETWORK_ID HOST_PORT\n`; UDP datagrams
 * then travel as 4-byte length-prefixed frames, the data streams' framing.
 *
 * Node's `net` and `dgram` do the work: a published port is a control-path
 * convenience (Docker's own userland proxy is the same design), each chunk
 * costs one JS callback, not each packet, and the container's own traffic
 * never passes here. docs/architecture.md says why this is enough.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '@arca-net/log';
import { PORT_FORWARD_PORT } from '@arca-net/proto';
import { dialStream, encodeFrame, FrameDecoder, type VmEndpoint } from '@arca-net/vsock';
import { errors, type NetworkBackendError } from './errors.js';
import type { PortProtocol } from './port-spec.js';

/** Where a published port's traffic goes in the helper: the network and the load balancer's port. */
export interface ForwardTarget {
  networkId: string;
  protocol: PortProtocol;
  /** Port of the load balancer on the network's external address. */
  lbPort: number;
}

/** How long a UDP peer may stay silent before its stream to the helper is closed. */
const UDP_IDLE_MS = 60_000;

/** A listen failure in Docker's words (`listen tcp4 0.0.0.0:80: bind: …`). */
export function listenError(
  protocol: PortProtocol,
  hostIp: string,
  port: number,
  err: unknown,
): NetworkBackendError {
  const listen = `${protocol}4 ${hostIp}:${port}`;
  const code = (err as { code?: unknown }).code;
  if (code === 'EADDRINUSE') return errors.portInUse(listen, err);
  if (code === 'EACCES' || code === 'EPERM') return errors.portNotPermitted(listen, err);
  const why =
    code === 'EADDRNOTAVAIL'
      ? 'cannot assign requested address'
      : err instanceof Error
        ? err.message
        : String(err);
  return errors.portBindFailed(listen, why, err);
}

/** Opens a stream to the helper's forwarder and sends the header. */
async function openForward(helper: VmEndpoint, target: ForwardTarget): Promise<Socket> {
  const stream = (await dialStream(helper, PORT_FORWARD_PORT, { timeoutMs: 5000 })).toNetSocket();
  // A client's half-close (FIN) travels on as one; the socket closes when both sides have ended.
  stream.allowHalfOpen = true;
  stream.setNoDelay(true);
  stream.write(`${target.protocol} ${target.networkId} ${target.lbPort}\n`);
  return stream;
}

/** One host-side listener of a published port. Close with {@link PortListener.close}. */
export interface PortListener {
  /** The port actually bound (the kernel's choice when asked for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on hostIp:port for TCP; each connection is forwarded to the helper. */
async function listenTcp(
  helper: VmEndpoint,
  hostIp: string,
  port: number,
  target: ForwardTarget,
  log: Logger,
): Promise<PortListener> {
  const open = new Set<Socket>();
  const server: Server = createServer(
    { noDelay: true, pauseOnConnect: true, allowHalfOpen: true },
    (client) => {
      open.add(client);
      client.on('close', () => open.delete(client));
      client.on('error', () => client.destroy());
      openForward(helper, target).then(
        (stream) => {
          open.add(stream);
          stream.on('close', () => open.delete(stream));
          client.pipe(stream);
          stream.pipe(client);
          const close = () => {
            client.destroy();
            stream.destroy();
          };
          for (const s of [client, stream]) {
            s.on('error', close);
            s.on('close', close);
          }
          client.resume();
        },
        (err: unknown) => {
          log.warn({ err, ...target }, 'published port: helper forwarder unreachable');
          client.destroy();
        },
      );
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError('tcp', hostIp, port, err)));
    server.listen({ host: hostIp, port, exclusive: true }, () => resolve());
  });
  server.on('error', (err) => log.warn({ err }, 'published port listener failed'));
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Listens on hostIp:port for UDP; each peer gets one stream to the helper. */
async function listenUdp(
  helper: VmEndpoint,
  hostIp: string,
  port: number,
  target: ForwardTarget,
  log: Logger,
): Promise<PortListener> {
  const udp: UdpSocket = createSocket({ type: 'udp4', reuseAddr: false });
  const flows = new Map<string, { stream: Promise<Socket>; timer: NodeJS.Timeout }>();
  const flowOf = (peer: RemoteInfo) => {
    const key = `${peer.address}:${peer.port}`;
    const existing = flows.get(key);
    if (existing) {
      existing.timer.refresh();
      return existing.stream;
    }
    const stream = openForward(helper, target).then((s) => {
      const decoder = new FrameDecoder();
      s.on('data', (chunk: Buffer) => {
        const { complete, error } = decoder.push(chunk);
        for (let pos = 0; pos < complete.byteLength; ) {
          const len = complete.readUInt32BE(pos);
          udp.send(complete.subarray(pos + 4, pos + 4 + len), peer.port, peer.address);
          pos += 4 + len;
        }
        if (error !== undefined) s.destroy();
      });
      s.on('error', () => s.destroy());
      s.on('close', () => flows.delete(key));
      return s;
    });
    const timer = setTimeout(() => {
      flows.delete(key);
      stream.then((s) => s.destroy()).catch(() => undefined);
    }, UDP_IDLE_MS).unref();
    flows.set(key, { stream, timer });
    stream.catch((err: unknown) => {
      log.warn({ err, ...target }, 'published port: helper forwarder unreachable');
      clearTimeout(timer);
      flows.delete(key);
    });
    return stream;
  };
  udp.on('message', (msg, peer) => {
    if (msg.byteLength === 0) return;
    flowOf(peer).then(
      (s) => s.write(encodeFrame(msg)),
      () => undefined,
    );
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', (err) => reject(listenError('udp', hostIp, port, err)));
    udp.bind({ address: hostIp, port, exclusive: true }, () => resolve());
  });
  udp.on('error', (err) => log.warn({ err }, 'published port socket failed'));
  return {
    port: udp.address().port,
    close: async () => {
      for (const { stream, timer } of flows.values()) {
        clearTimeout(timer);
        stream.then((s) => s.destroy()).catch(() => undefined);
      }
      flows.clear();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

/**
 * Binds hostIp:port (0 = a free port) for `target.protocol` and forwards
 * what arrives to the helper. Rejects with PORT_IN_USE, PORT_NOT_PERMITTED or
 * PORT_BIND_FAILED, having bound nothing.
 */
export function listenPublished(
  helper: VmEndpoint,
  hostIp: string,
  port: number,
  target: ForwardTarget,
  log: Logger,
): Promise<PortListener> {
  return target.protocol === 'tcp'
    ? listenTcp(helper, hostIp, port, target, log)
    : listenUdp(helper, hostIp, port, target, log);
}
