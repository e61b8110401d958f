/**
 * Upstream resolvers of the embedded DNS server: where they come from
 * (`/etc/resolv.conf` at start, or the `upstream_servers` extension field) and
 * how one query is relayed to them (UDP for UDP queries, TCP for TCP ones),
 * always bounded by a deadline.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP, Socket } from 'node:net';
import { invalidArgument } from './errors.js';

/** One upstream resolver. */
export interface Upstream {
  host: string;
  port: number;
}

/** Parses "ip", "ip:port" or "[ipv6]:port"; throws INVALID_ARGUMENT. `minPort` 0 admits port 0 (listen addresses). */
export function parseUpstream(text: string, minPort = 1): Upstream {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host = text;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (text.split(':').length === 2) {
    [host = '', portText] = text.split(':');
  }
  const port = portText === undefined ? 53 : Number(portText);
  if (!isIP(host) || !Number.isInteger(port) || port < minPort || port > 65535) {
    throw invalidArgument(`upstream DNS server ${JSON.stringify(text)} is not "ip" or "ip:port"`);
  }
  return { host, port };
}

/** The `nameserver` lines of a resolv.conf text. */
export function parseResolvConf(text: string): Upstream[] {
  const result: Upstream[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    const address = match?.[1]?.split('%')[0];
    if (address && isIP(address)) result.push({ host: address, port: 53 });
  }
  return result;
}

/** The resolvers of `/etc/resolv.conf` (none when it is missing). */
export function systemUpstreams(path = '/etc/resolv.conf'): Upstream[] {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** Removes our own listening address (forwarding to ourselves would loop). */
export function withoutSelf(upstreams: Upstream[], self: Upstream | undefined): Upstream[] {
  return upstreams.filter(
    (u) => !(u.host === '127.0.0.11' || (self && u.host === self.host && u.port === self.port)),
  );
}

/** Whether a reply belongs to the query with `queryId`. */
function matches(reply: Buffer, queryId: number): boolean {
  return reply.length >= 12 && reply.readUInt16BE(0) === queryId;
}

/** Whether an upstream's reply is an answer (NOERROR or NXDOMAIN), not SERVFAIL/REFUSED/…. */
function usable(reply: Buffer): boolean {
  const rcode = reply.readUInt16BE(2) & 0xf;
  return rcode === 0 || rcode === 3;
}

/**
 * The one outcome of a query: the first reply or error wins, the socket is
 * released and the abort listener removed; later outcomes are ignored.
 */
function settleOnce(
  signal: AbortSignal,
  release: () => void,
  resolve: (reply: Buffer) => void,
  reject: (error: Error) => void,
): (error: Error | undefined, reply?: Buffer) => void {
  let finished = false;
  const done = (error: Error | undefined, reply?: Buffer) => {
    if (finished) return;
    finished = true;
    signal.removeEventListener('abort', onAbort);
    release();
    if (reply) resolve(reply);
    else reject(error ?? new Error('no reply'));
  };
  const onAbort = () => done(new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  return done;
}

function queryUdp(
  upstream: Upstream,
  query: Buffer,
  signal: AbortSignal,
  source?: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(upstream.host) === 6 ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const done = settleOnce(signal, () => socket.close(), resolve, reject);
    socket.on('error', (error) => done(error));
    socket.on('message', (reply) => {
      if (!matches(reply, id)) return;
      if (usable(reply)) done(undefined, reply);
      else done(new Error('upstream answered with an error'));
    });
    // A failed connect (no route) calls back with its error; it must never reach send().
    const connect = () =>
      socket.connect(upstream.port, upstream.host, (error?: Error) => {
        if (error) {
          done(error);
          return;
        }
        try {
          socket.send(query);
        } catch (sendError) {
          done(sendError as Error);
        }
      });
    if (source) socket.bind(0, source, connect);
    else connect();
  });
}

function queryTcp(
  upstream: Upstream,
  query: Buffer,
  signal: AbortSignal,
  source?: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const id = query.readUInt16BE(0);
    let buffered = Buffer.alloc(0);
    const done = settleOnce(signal, () => socket.destroy(), resolve, reject);
    socket.on('error', (error) => done(error));
    socket.on('close', () => done(new Error('upstream closed the connection')));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2) return;
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) return;
      const reply = buffered.subarray(2, 2 + length);
      if (matches(reply, id) && usable(reply)) done(undefined, reply);
      else done(new Error('upstream answered with an error'));
    });
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.length);
    socket.connect(
      { port: upstream.port, host: upstream.host, ...(source ? { localAddress: source } : {}) },
      () => socket.write(Buffer.concat([prefix, query])),
    );
  });
}

/**
 * Sends the raw `query` to every upstream at once and resolves with the first
 * usable raw reply, or `undefined` when none answers usably within `timeoutMs`.
 * `source`: the local address of the queries (policy routing picks their way out).
 */
export async function forwardQuery(
  upstreams: readonly Upstream[],
  query: Buffer,
  transport: 'udp' | 'tcp',
  timeoutMs: number,
  source?: string,
): Promise<Buffer | undefined> {
  if (upstreams.length === 0 || query.length < 12) return undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const ask = transport === 'udp' ? queryUdp : queryTcp;
    return await Promise.any(upstreams.map((u) => ask(u, query, controller.signal, source)));
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
