/**
 * The embedded DNS server (Docker's 127.0.0.11:53): UDP and TCP, answers from
 * the current {@link DnsTable}, forwards other names to upstream resolvers
 * with a bounded deadline (SERVFAIL when it passes), NXDOMAIN at once when
 * REFUSED at once when there is no upstream. Packets are parsed and built with
 * `dns-packet`; a malformed query with a readable header gets FORMERR, other
 * junk is dropped (UDP) or ends its connection (TCP).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { type Logger, silentLogger } from '@arca-net/log';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { buildReply, decideAuthoritative, decideQuery, formErrReply, RCODE } from './answer.js';
import { type DnsTable, emptyDnsTable } from './table.js';
import { forwardQuery, type Upstream, withoutSelf } from './upstream.js';

export interface DnsServerOptions {
  /** Listening address, default 127.0.0.11. */
  host?: string;
  /** Listening port (UDP and TCP), default 53; 0 picks a free one (the same for both). */
  port?: number;
  /** Initial upstream resolvers (our own address is removed). */
  upstreams?: Upstream[];
  /** Deadline of one forwarded query, default 1500 ms (well below resolvers' 5 s client timeout). */
  forwardTimeoutMs?: number;
  /**
   * An authoritative server (the lab's fake upstream): unknown names are
   * NXDOMAIN and nothing is forwarded. Default false.
   */
  authoritative?: boolean;
  /** Local address of forwarded queries (default: the kernel's choice). */
  sourceAddress?: string;
  logger?: Logger;
}

/** Counters of the server since start. */
export interface DnsServerStats {
  answered: number;
  forwarded: number;
  servfail: number;
  dropped: number;
}

const MAX_TCP_CONNECTIONS = 64;
/** Deadline of a forwarded query: a silent upstream costs the client this, never its own 5 s. */
export const DEFAULT_FORWARD_TIMEOUT_MS = 1500;
const BIND_ATTEMPTS = 8;
const TCP_IDLE_MS = 10_000;
const CLASSIC_UDP_SIZE = 512;
const FLAG_TC = 1 << 9;

/** A running embedded DNS server; replace its records with {@link setTable}. */
export class DnsServer {
  private table: DnsTable = emptyDnsTable;
  private upstreams: Upstream[];
  private readonly counters: DnsServerStats = {
    answered: 0,
    forwarded: 0,
    servfail: 0,
    dropped: 0,
  };
  private readonly connections = new Set<Socket>();

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    private readonly self: Upstream,
    upstreams: Upstream[],
    private readonly forwardTimeoutMs: number,
    private readonly log: Logger,
    private readonly authoritative: boolean,
    private readonly sourceAddress: string | undefined,
  ) {
    this.upstreams = withoutSelf(upstreams, self);
  }

  /**
   * Binds TCP, then UDP on the same port; resolves once both are listening.
   * With port 0, TCP picks a free port and UDP takes the same one; should
   * another process hold that UDP port, a fresh port is tried (a few times).
   */
  static async start(options: DnsServerOptions = {}): Promise<DnsServer> {
    const host = options.host ?? '127.0.0.11';
    const port = options.port ?? 53;
    const log = (options.logger ?? silentLogger).child({ component: 'dns' });
    const { udp, tcp } = await bindBoth(host, port);
    const server = new DnsServer(
      udp,
      tcp,
      { host, port: udp.address().port },
      options.upstreams ?? [],
      options.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS,
      log,
      options.authoritative ?? false,
      options.sourceAddress,
    );
    udp.on('message', (message, remote) => server.onUdp(message, remote.address, remote.port));
    udp.on('error', (error) => log.error({ err: error }, 'dns udp socket error'));
    tcp.on('connection', (socket) => server.onTcp(socket));
    tcp.on('error', (error) => log.error({ err: error }, 'dns tcp server error'));
    log.info({ host, port: server.self.port, upstreams: server.upstreams }, 'dns server listening');
    return server;
  }

  /** Where the server listens (UDP and TCP). */
  get address(): Upstream {
    return { ...this.self };
  }

  get stats(): DnsServerStats {
    return { ...this.counters };
  }

  /** Replaces all records (a full snapshot). */
  setTable(table: DnsTable): void {
    this.table = table;
  }

  /** Replaces the upstream resolvers (our own address is removed). */
  setUpstreams(upstreams: Upstream[]): void {
    this.upstreams = withoutSelf(upstreams, this.self);
  }

  getUpstreams(): Upstream[] {
    return [...this.upstreams];
  }

  /** Stops both listeners and open TCP connections. */
  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  /** Answers one raw query; `undefined` = send nothing. */
  private async respond(raw: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      const formErr = formErrReply(raw);
      if (formErr) this.counters.answered++;
      else this.counters.dropped++;
      return formErr;
    }
    const decision = this.authoritative
      ? decideAuthoritative(query, this.table)
      : decideQuery(query, this.table, this.upstreams.length > 0);
    if (decision.kind === 'drop') {
      this.counters.dropped++;
      return undefined;
    }
    if (decision.kind === 'reply') {
      this.counters.answered++;
      const reply = dnsPacket.encode(decision.packet);
      if (transport === 'udp' && reply.length > udpLimit(query)) {
        const truncated = decision.packet;
        truncated.flags = (truncated.flags ?? 0) | FLAG_TC;
        truncated.answers = [];
        return dnsPacket.encode(truncated);
      }
      return reply;
    }
    this.counters.forwarded++;
    const upstreamReply = await forwardQuery(
      this.upstreams,
      raw,
      transport,
      this.forwardTimeoutMs,
      this.sourceAddress,
    );
    if (upstreamReply) return upstreamReply;
    this.counters.servfail++;
    this.log.debug({ name: query.questions?.[0]?.name }, 'no upstream answered: SERVFAIL');
    return dnsPacket.encode(buildReply(query, RCODE.SERVFAIL));
  }

  private onUdp(message: Buffer, address: string, port: number): void {
    this.respond(message, 'udp').then(
      (reply) => {
        if (reply) this.udp.send(reply, port, address);
      },
      (error: unknown) => this.log.warn({ err: error }, 'dns udp query failed'),
    );
  }

  private onTcp(socket: Socket): void {
    if (this.connections.size >= MAX_TCP_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        this.respond(message, 'tcp').then(
          (reply) => {
            if (!reply) {
              socket.destroy();
              return;
            }
            if (socket.destroyed) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([prefix, reply]));
          },
          () => socket.destroy(),
        );
      }
    });
  }
}

function listenTcp(host: string, port: number): Promise<Server> {
  const tcp = createServer();
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve(tcp);
    });
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  const udp = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  return new Promise((resolve, reject) => {
    udp.once('error', (error) => {
      udp.close();
      reject(error);
    });
    udp.bind(port, host, () => {
      udp.removeAllListeners('error');
      resolve(udp);
    });
  });
}

/** TCP and UDP listeners on one port (see {@link DnsServer.start}). */
async function bindBoth(host: string, port: number): Promise<{ udp: UdpSocket; tcp: Server }> {
  for (let attempt = 1; ; attempt++) {
    const tcp = await listenTcp(host, port);
    const address = tcp.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    try {
      return { udp: await bindUdp(host, bound), tcp };
    } catch (error) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (port !== 0 || !inUse || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}

/** Largest UDP reply the client accepts: its EDNS payload size, else 512. */
function udpLimit(query: DecodedPacket): number {
  for (const record of query.additionals ?? []) {
    if (record.type === 'OPT') return Math.max(CLASSIC_UDP_SIZE, record.udpPayloadSize);
  }
  return CLASSIC_UDP_SIZE;
}
