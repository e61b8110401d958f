/**
 * The helper's half of published ports reached from the host. The host
 * accepts a connection (TCP) or a new peer (UDP) on its published port and
 * opens one stream to vsock port 9998 here (PORT_FORWARD_PORT), starting with
 * a header line `tcp|udp NETWORK_ID HOST_PORT\n`. This side looks the
 * published port up (nothing else can be reached through it), connects from
 * the helper's address on the external network (`arca-fwd0`, set up by
 * helpervm/startup.sh) to the load balancer's VIP, exactly as the outside
 * world does, and copies bytes both ways; UDP datagrams travel as
 * length-prefixed frames (the data streams' 4-byte big-endian header).
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import type { Logger } from '@arca-net/log';
import { PORT_FORWARD_PORT } from '@arca-net/proto';
import {
  encodeFrame,
  FrameDecoder,
  type ListenEndpoint,
  listenStream,
  type StreamListener,
  type StreamSocket,
} from '@arca-net/vsock';

/** Longest header line accepted. */
const MAX_HEADER = 256;

/** Finds the VIP (`ip:port`) of a published port, or undefined. */
export type PublishedLookup = (
  networkId: string,
  protocol: 'tcp' | 'udp',
  hostPort: number,
) => string | undefined;

/** Splits `ip:port`. */
function splitVip(vip: string): { host: string; port: number } {
  const i = vip.lastIndexOf(':');
  return { host: vip.slice(0, i), port: Number(vip.slice(i + 1)) };
}

/** Reads the header line, then hands the socket (with any bytes after it) on. */
function readHeader(socket: Socket, done: (line: string, rest: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    const nl = buf.indexOf(10);
    if (nl < 0) {
      if (buf.byteLength > MAX_HEADER) socket.destroy();
      return;
    }
    socket.off('data', onData);
    socket.pause();
    done(buf.subarray(0, nl).toString('latin1'), buf.subarray(nl + 1));
  };
  socket.on('data', onData);
}

/** Copies bytes both ways until either side closes; errors close both. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
  a.on('close', close);
  b.on('close', close);
}

/** Relays one UDP flow: frames from the stream become datagrams to the VIP and back. */
function udpFlow(stream: Socket, rest: Buffer, host: string, port: number, log: Logger): void {
  const udp = createSocket('udp4');
  const decoder = new FrameDecoder();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stream.destroy();
    udp.close();
  };
  const onStream = (chunk: Buffer) => {
    const { complete, error } = decoder.push(chunk);
    let pos = 0;
    while (pos < complete.byteLength) {
      const len = complete.readUInt32BE(pos);
      udp.send(complete.subarray(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    if (error !== undefined) close();
  };
  udp.on('message', (msg) => {
    if (msg.byteLength > 0) stream.write(encodeFrame(msg));
  });
  udp.on('error', (err) => {
    log.debug({ err }, 'udp flow failed');
    close();
  });
  stream.on('error', close);
  stream.on('close', close);
  udp.connect(port, host, () => {
    stream.on('data', onStream);
    if (rest.byteLength > 0) onStream(rest);
    stream.resume();
  });
}

/** The listener on PORT_FORWARD_PORT. Close with {@link PortForwarder.close}. */
export class PortForwarder {
  readonly #listener: StreamListener;
  readonly #open = new Set<Socket>();

  private constructor(listener: StreamListener) {
    this.#listener = listener;
  }

  /** Listens on `where` (vsock in the VM, a unixdir in the lab). */
  static async start(
    where: ListenEndpoint,
    lookup: PublishedLookup,
    logger: Logger,
  ): Promise<PortForwarder> {
    const log = logger.child({ component: 'port-forward' });
    const listener = await listenStream(where, PORT_FORWARD_PORT);
    const forwarder = new PortForwarder(listener);
    listener.on('connection', (s: StreamSocket) => forwarder.#accept(s, lookup, log));
    log.info({ port: PORT_FORWARD_PORT }, 'published-port forwarder listening');
    return forwarder;
  }

  #accept(s: StreamSocket, lookup: PublishedLookup, log: Logger): void {
    const stream = s.toNetSocket();
    // Half-closes travel through: a socket closes once both of its sides have ended.
    stream.allowHalfOpen = true;
    this.#open.add(stream);
    stream.on('close', () => this.#open.delete(stream));
    stream.on('error', () => stream.destroy());
    readHeader(stream, (line, rest) => {
      const [protocol, networkId = '', portText = ''] = line.split(' ');
      const hostPort = Number(portText);
      const vip =
        (protocol === 'tcp' || protocol === 'udp') && Number.isInteger(hostPort)
          ? lookup(networkId, protocol, hostPort)
          : undefined;
      if (!vip) {
        log.warn({ header: line.slice(0, 80) }, 'no such published port: stream closed');
        stream.destroy();
        return;
      }
      const { host, port } = splitVip(vip);
      if (protocol === 'udp') {
        udpFlow(stream, rest, host, port, log);
        return;
      }
      const upstream = connect({ host, port, allowHalfOpen: true });
      this.#open.add(upstream);
      upstream.on('close', () => this.#open.delete(upstream));
      upstream.setNoDelay(true);
      if (rest.byteLength > 0) upstream.write(rest);
      splice(stream, upstream);
      stream.resume();
    });
  }

  /** Stops listening and closes every forwarded connection. Idempotent. */
  close(): void {
    this.#listener.close();
    for (const s of this.#open) s.destroy();
    this.#open.clear();
  }
}
