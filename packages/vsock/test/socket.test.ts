import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDialProxy,
  dialStream,
  listenStream,
  proxyListenerTo,
  type StreamListener,
  type StreamSocket,
  VsockError,
} from '../lib/index.js';
import { openFdCount, until } from './helpers.js';

let dir: string;
const cleanup: Array<() => unknown> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'avt-sock-'));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

function nextConnection(listener: StreamListener): Promise<StreamSocket> {
  return new Promise((resolve) => listener.once('connection', resolve));
}

function readSome(socket: Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= bytes) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
  });
}

/** A fake Firecracker hybrid-vsock server: `reply(port, socket)` decides what it answers. */
async function fakeHvsock(reply: (line: string, socket: Socket) => void): Promise<string> {
  const path = join(dir, 'v.sock');
  const server: Server = createServer((socket) => {
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        socket.removeAllListeners('data');
        reply(buf.slice(0, nl), socket);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return path;
}

describe('unixdir sockets', () => {
  it('listens on <dir>/P.sock, dials, accepts and carries bytes both ways', async () => {
    const vmdir = join(dir, 'vm1');
    const listener = await listenStream({ kind: 'unixdir', dir: vmdir }, 20001);
    cleanup.push(() => listener.close());
    expect(listener.path).toBe(join(vmdir, '20001.sock'));
    expect(statSync(listener.path!).isSocket()).toBe(true);
    const accepted = nextConnection(listener);
    const client = await dialStream({ kind: 'unixdir', dir: vmdir }, 20001);
    const server = await accepted;
    expect(client.peer).toEqual({ path: join(vmdir, '20001.sock'), port: 20001 });
    const c = client.toNetSocket();
    const s = server.toNetSocket();
    cleanup.push(
      () => c.destroy(),
      () => s.destroy(),
    );
    c.write('ping');
    expect((await readSome(s, 4)).toString()).toBe('ping');
    s.write('pong');
    expect((await readSome(c, 4)).toString()).toBe('pong');
    expect(() => client.detachFd()).toThrow(VsockError);
  });

  it('replaces a stale socket file, refuses a regular file, and unlinks on close', async () => {
    const first = await listenStream({ kind: 'unixdir', dir }, 5);
    first.close();
    const second = await listenStream({ kind: 'unixdir', dir }, 6);
    // A stale socket file left behind (listener gone, file still there):
    const stale = await listenStream({ kind: 'unixdir', dir }, 7);
    const path = stale.path!;
    const again = await listenStream({ kind: 'unixdir', dir }, 7);
    cleanup.push(
      () => again.close(),
      () => second.close(),
      () => stale.close(),
    );
    expect(statSync(path).isSocket()).toBe(true);
    writeFileSync(join(dir, '8.sock'), 'not a socket');
    await expect(listenStream({ kind: 'unixdir', dir }, 8)).rejects.toThrow(/not a socket/);
    second.close();
    expect(() => statSync(join(dir, '6.sock'))).toThrow();
    second.close();
  });

  it('rejects a dial to a missing port with ENOENT and to a dead socket with ECONNREFUSED', async () => {
    await expect(dialStream({ kind: 'unixdir', dir }, 1)).rejects.toMatchObject({ code: 'ENOENT' });
    const path = join(dir, '2.sock');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    // Close the listening fd but keep the file: connect is refused.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    writeFileSync(join(dir, 'x'), '');
    const err = await dialStream({ kind: 'unixdir', dir }, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VsockError);
    expect(['ENOENT', 'ECONNREFUSED']).toContain((err as VsockError).code);
  });

  it('honours an AbortSignal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      dialStream({ kind: 'unixdir', dir }, 1, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});

describe('aborted dials', () => {
  it('a dial aborted while connecting rejects and closes its fd exactly once', async () => {
    const listener = await listenStream({ kind: 'unixdir', dir }, 20002);
    cleanup.push(() => listener.close());
    listener.on('connection', (socket: StreamSocket) => socket.close());
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const before = openFdCount();
    try {
      for (let i = 0; i < 20; i++) {
        const abort = new AbortController();
        const dial = dialStream({ kind: 'unixdir', dir }, 20002, { signal: abort.signal });
        abort.abort(); // the connect is under way on the native loop and completes later
        await expect(dial).rejects.toThrow();
      }
      // The late connects complete on the loop and each fd is closed then: wait for that.
      await until(() => openFdCount() === before, 'every late fd is closed');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    // A second close of the same fd throws EBADF from a promise callback (or closes
    // an unrelated fd that reused the number).
    expect(unhandled).toEqual([]);
    expect(openFdCount()).toBe(before);
  });
});

describe('hvsock client (against a fake hybrid-vsock server)', () => {
  it('sends CONNECT <port> and accepts OK <n>', async () => {
    const lines: string[] = [];
    const path = await fakeHvsock((line, socket) => {
      lines.push(line);
      socket.write('OK 1073741824\n');
      socket.on('data', (d) => socket.write(d));
    });
    const client = await dialStream({ kind: 'hvsock', path }, 5555);
    expect(lines).toEqual(['CONNECT 5555']);
    const s = client.toNetSocket();
    cleanup.push(() => s.destroy());
    s.write('echo');
    expect((await readSome(s, 4)).toString()).toBe('echo');
  });

  it('keeps the bytes that arrive in the same read as the OK line', async () => {
    const path = await fakeHvsock((_line, socket) => {
      socket.write('OK 77\nleftover-bytes');
    });
    const client = await dialStream({ kind: 'hvsock', path }, 1);
    const s = client.toNetSocket();
    cleanup.push(() => s.destroy());
    expect((await readSome(s, 14)).toString()).toBe('leftover-bytes');
  });

  it('fails with EPROTO on an error reply', async () => {
    const path = await fakeHvsock((_line, socket) => {
      socket.end('ERR no such port\n');
    });
    const err = await dialStream({ kind: 'hvsock', path }, 9).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VsockError);
    expect((err as VsockError).code).toBe('EPROTO');
    expect((err as VsockError).message).toContain('ERR no such port');
  });

  it('retries while the socket closes before OK (no guest listener yet), then connects', async () => {
    let attempts = 0;
    const path = await fakeHvsock((_line, socket) => {
      attempts++;
      if (attempts < 3) socket.destroy();
      else socket.write('OK 1\n');
    });
    const client = await dialStream({ kind: 'hvsock', path }, 20001, { timeoutMs: 5000 });
    cleanup.push(() => client.close());
    expect(attempts).toBe(3);
  });

  it('gives a clear ECONNREFUSED when the socket keeps closing until the deadline', async () => {
    const path = await fakeHvsock((_line, socket) => socket.destroy());
    const err = await dialStream({ kind: 'hvsock', path }, 20002, { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VsockError);
    expect((err as VsockError).code).toBe('ECONNREFUSED');
    expect((err as VsockError).message).toMatch(/closed before the OK reply.*no listener/);
  });

  it('fails with ENOENT when the hybrid vsock socket does not exist', async () => {
    await expect(
      dialStream({ kind: 'hvsock', path: join(dir, 'missing.sock') }, 1),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('fd endpoint', () => {
  it('uses the caller-provided dial function', async () => {
    const listener = await listenStream({ kind: 'unixdir', dir }, 3);
    cleanup.push(() => listener.close());
    const other = await dialStream({ kind: 'unixdir', dir }, 3);
    const ports: number[] = [];
    const socket = await dialStream(
      {
        kind: 'fd',
        dial: async (port) => {
          ports.push(port);
          return other.detachFd();
        },
      },
      42,
    );
    cleanup.push(() => socket.close());
    expect(ports).toEqual([42]);
    expect(socket.peer).toEqual({ port: 42 });
  });
});

describe('AF_VSOCK on a machine without vsock loopback', () => {
  it('listen either works or fails with a clear VsockError', async () => {
    try {
      const listener = await listenStream({ kind: 'vsock' }, 40123, { allowCids: [3] });
      expect(listener.port).toBe(40123);
      expect(listener.rejected).toBe(0);
      listener.close();
    } catch (err) {
      expect(err).toBeInstanceOf(VsockError);
      expect((err as VsockError).code).toMatch(/^E[A-Z]+$/);
      expect((err as VsockError).message).toMatch(/vsock listen port 40123/);
    }
  });

  it('dial to a CID with no VM fails with a VsockError, not a crash', async () => {
    const err = await dialStream({ kind: 'vsock', cid: 4_000_000 }, 1, { timeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VsockError);
    expect((err as VsockError).message).toMatch(/vsock connect cid 4000000 port 1/);
  });
});

describe('proxies', () => {
  it('createDialProxy pipes every local connection to the VM port', async () => {
    const vm = join(dir, 'vm');
    const listener = await listenStream({ kind: 'unixdir', dir: vm }, 9999);
    cleanup.push(() => listener.close());
    listener.on('connection', (socket: StreamSocket) => {
      const s = socket.toNetSocket();
      s.on('data', (d) => s.write(Buffer.concat([Buffer.from('vm:'), d])));
      s.on('error', () => undefined);
    });
    const proxy = await createDialProxy({ kind: 'unixdir', dir: vm }, 9999);
    cleanup.push(() => proxy.close());
    const { connect } = await import('node:net');
    for (const word of ['one', 'two']) {
      const c = connect(proxy.path);
      cleanup.push(() => c.destroy());
      c.write(word);
      expect((await readSome(c, 3 + word.length)).toString()).toBe(`vm:${word}`);
    }
  });

  it('proxyListenerTo pipes accepted connections to a Unix socket path', async () => {
    const target = join(dir, 'grpc.sock');
    const server = createServer((s) => s.on('data', (d) => s.write(d.toString().toUpperCase())));
    await new Promise<void>((resolve) => server.listen(target, resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const listener = await listenStream({ kind: 'unixdir', dir }, 9999);
    const proxy = proxyListenerTo(listener, target);
    cleanup.push(() => proxy.close());
    const client = (await dialStream({ kind: 'unixdir', dir }, 9999)).toNetSocket();
    cleanup.push(() => client.destroy());
    client.write('hello');
    expect((await readSome(client, 5)).toString()).toBe('HELLO');
  });
});
