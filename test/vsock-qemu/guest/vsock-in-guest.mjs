// Runs inside the QEMU guest (node, busybox, vsock + vsock_loopback loaded) and
// prints one `ARCA-VSOCK-RESULT {json}` line per check on the serial console,
// which test/vsock-qemu/vsock-in-guest.test.ts parses. Every check is bounded
// by a timeout, so a hang shows up as a failed check, not a stuck guest.
//
// usage: node vsock-in-guest.mjs <config.json>
//   config: { "vsockModule"?: "/abs/path/packages/vsock/dist/index.js",
//             "sockoptProbe"?: "/guest/vsock-sockopt" (vsock-sockopt.c, built by the test) }

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function report(result) {
  process.stdout.write(`ARCA-VSOCK-RESULT ${JSON.stringify(result)}\n`);
}

function errorText(err) {
  if (err instanceof Error) {
    const code = 'code' in err ? ` [${err.code}]` : '';
    return `${err.name}: ${err.message}${code}`;
  }
  return String(err);
}

/** Runs one check with a deadline; reports {check, ok, ...details} or {check, ok:false, error}. */
async function check(name, timeoutMs, fn) {
  let timer;
  const started = Date.now();
  try {
    const details = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    report({ check: name, ok: true, ms: Date.now() - started, ...details });
  } catch (err) {
    report({ check: name, ok: false, ms: Date.now() - started, error: errorText(err) });
  } finally {
    clearTimeout(timer);
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

await check('environment', 10_000, async () => {
  const protocols = readFileSync('/proc/net/protocols', 'utf8');
  return {
    node: process.version,
    kernel: release(),
    vsockModule: existsSync('/sys/module/vsock'),
    vsockLoopbackModule: existsSync('/sys/module/vsock_loopback'),
    afVsockRegistered: /^AF_VSOCK\s/m.test(protocols),
  };
});

if (config.vsockModule) {
  let vsock;
  await check('load-addon', 20_000, async () => {
    vsock = await import(config.vsockModule);
    return { exports: Object.keys(vsock).sort() };
  });
  if (vsock) await addonChecks(vsock);
}

async function addonChecks(vsock) {
  const { listenStream, dialStream, Relay } = vsock;
  const local = { kind: 'vsock', cid: 1 }; // VMADDR_CID_LOCAL, served by vsock_loopback

  /** Resolves with the next accepted StreamSocket of `listener`. */
  const nextConnection = (listener) =>
    new Promise((resolve, reject) => {
      listener.once('connection', resolve);
      listener.once('error', reject);
    });

  /** Dials `port` of `listener` over vsock: the dialled end and the accepted one. */
  const dialPair = async (listener, port) => {
    const accepted = nextConnection(listener);
    const dialled = await dialStream(local, port, { timeoutMs: 5000 });
    return { dialled, accepted: await withTimeout(accepted, 5000, `accept on ${port}`) };
  };

  /** Reads from a net.Socket until `total` bytes arrived. */
  const readBytes = (socket, total) =>
    new Promise((resolve, reject) => {
      const chunks = [];
      let have = 0;
      const onData = (chunk) => {
        chunks.push(chunk);
        have += chunk.length;
        if (have >= total) {
          socket.off('data', onData);
          resolve(Buffer.concat(chunks));
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('close', () => {
        if (have < total) reject(new Error(`peer closed after ${have} of ${total} bytes`));
      });
    });

  await check('listen-dial-exchange', 30_000, async () => {
    const listener = await listenStream({ kind: 'vsock' }, 4000);
    try {
      const accepted = nextConnection(listener);
      const client = await dialStream(local, 4000, { timeoutMs: 5000 });
      const server = await withTimeout(accepted, 5000, 'accept');
      const peer = { ...server.peer };
      const clientSock = client.toNetSocket();
      const serverSock = server.toNetSocket();
      try {
        const request = randomBytes(100_000);
        const gotRequest = readBytes(serverSock, request.length);
        clientSock.write(request);
        const received = await withTimeout(gotRequest, 10_000, 'request');
        const reply = Buffer.from('pong from the vsock server');
        const gotReply = readBytes(clientSock, reply.length);
        serverSock.write(reply);
        const replied = await withTimeout(gotReply, 10_000, 'reply');
        return {
          listenerPort: listener.port,
          peer,
          requestIntact: received.equals(request),
          replyIntact: replied.equals(reply),
        };
      } finally {
        clientSock.destroy();
        serverSock.destroy();
      }
    } finally {
      listener.close();
    }
  });

  await check('listen-on-cid-1', 30_000, async () => {
    // Bound to VMADDR_CID_LOCAL instead of VMADDR_CID_ANY; then closed, after
    // which the port refuses connections again.
    const listener = await listenStream({ kind: 'vsock', cid: 1 }, 4001);
    let exchanged = false;
    try {
      const accepted = nextConnection(listener);
      const client = await dialStream(local, 4001, { timeoutMs: 5000 });
      const server = await withTimeout(accepted, 5000, 'accept');
      const clientSock = client.toNetSocket();
      const serverSock = server.toNetSocket();
      const got = readBytes(serverSock, 5);
      clientSock.write('hello');
      exchanged = (await withTimeout(got, 10_000, 'hello')).toString() === 'hello';
      clientSock.destroy();
      serverSock.destroy();
    } finally {
      listener.close();
    }
    // The listening fd is closed on the addon's loop thread; 'close' says it is done.
    await withTimeout(
      new Promise((resolve) => listener.once('close', resolve)),
      5000,
      "listener 'close' event",
    );
    let refusedAfterClose = false;
    try {
      (await dialStream(local, 4001, { timeoutMs: 5000 })).close();
    } catch {
      refusedAfterClose = true;
    }
    return { exchanged, refusedAfterClose };
  });

  await check('dial-refused', 15_000, async () => {
    try {
      const socket = await dialStream(local, 4999, { timeoutMs: 5000 });
      socket.close();
      return { rejected: false };
    } catch (err) {
      return { rejected: true, code: err?.code, name: err?.name, message: err?.message };
    }
  });

  await check('allow-list', 30_000, async () => {
    const listener = await listenStream({ kind: 'vsock' }, 4010, { allowCids: [2] });
    try {
      let accepted = 0;
      listener.on('connection', (socket) => {
        accepted++;
        socket.close();
      });
      // The peer (CID 1) is not allowed: its connection gets closed by the listener.
      const client = await dialStream(local, 4010, { timeoutMs: 5000 });
      const sock = client.toNetSocket();
      const closed = await withTimeout(
        new Promise((resolve) => {
          sock.on('data', () => {});
          sock.once('close', () => resolve(true));
          sock.once('error', () => {});
        }),
        10_000,
        'closing the refused peer',
      );
      sock.destroy();
      return { accepted, rejected: listener.rejected, peerClosed: closed };
    } finally {
      listener.close();
    }
  });

  await check('relay-chain', 90_000, async () => relayChain());

  await check('offload-stream-buffers', 90_000, async () => offloadStreamBuffers());

  /**
   * client ─vsock→ [A1 ═Relay═ B1] ─vsock→ [A2 ═Relay═ B2] ─vsock→ echo
   * Frames (4-byte big-endian length + payload) go through both relays to an
   * echo end that parses them and sends them back; the client checks every
   * frame comes back intact and in order.
   */
  async function relayChain() {
    const ports = [4101, 4102, 4103];
    const listeners = [];
    const relays = [];
    const sockets = [];
    try {
      for (const port of ports) listeners.push(await listenStream({ kind: 'vsock' }, port));
      const hop1 = await dialPair(listeners[0], ports[0]);
      const hop2 = await dialPair(listeners[1], ports[1]);
      const hop3 = await dialPair(listeners[2], ports[2]);
      const closeInfos = [];
      const r1 = Relay.open(
        { kind: 'stream', fd: hop1.accepted.detachFd() },
        { kind: 'stream', fd: hop2.dialled.detachFd() },
      );
      const r2 = Relay.open(
        { kind: 'stream', fd: hop2.accepted.detachFd() },
        { kind: 'stream', fd: hop3.dialled.detachFd() },
      );
      relays.push(r1, r2);
      const relayClosed = relays.map(
        (relay, i) =>
          new Promise((resolve) =>
            relay.once('close', (info) => {
              closeInfos[i] = info;
              resolve(info);
            }),
          ),
      );
      const client = hop1.dialled.toNetSocket();
      const echo = hop3.accepted.toNetSocket();
      sockets.push(client, echo);

      // Echo end: parse frames, check framing, send each frame back unchanged.
      // It starts paused, so the relays meet full vsock buffers and must hold
      // the data back (backpressure) rather than drop it or the connection.
      echo.pause();
      let echoFrames = 0;
      let echoBad = 0;
      let pending = Buffer.alloc(0);
      echo.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4) {
          const len = pending.readUInt32BE(0);
          if (len === 0 || len > 65536) echoBad++;
          if (pending.length < 4 + len) break;
          echo.write(pending.subarray(0, 4 + len));
          pending = pending.subarray(4 + len);
          echoFrames++;
        }
      });

      const sizes = [1, 60, 1500, 65535, 65536];
      // Mostly Ethernet-sized frames, every sixth one up to the 64 KiB maximum.
      for (let i = 0; i < 2400; i++) {
        const max = i % 6 === 0 ? 65536 : 1514;
        sizes.push(60 + Math.floor(Math.random() * (max - 60 + 1)));
      }
      const frames = sizes.map((size) => randomBytes(size));
      const totalBytes = frames.reduce((sum, f) => sum + f.length, 0);

      let matched = 0;
      let mismatch = null;
      let inbox = Buffer.alloc(0);
      const allBack = new Promise((resolve, reject) => {
        client.on('data', (chunk) => {
          inbox = Buffer.concat([inbox, chunk]);
          while (inbox.length >= 4) {
            const len = inbox.readUInt32BE(0);
            if (inbox.length < 4 + len) break;
            const payload = inbox.subarray(4, 4 + len);
            const want = frames[matched];
            if (!mismatch && (!want || !payload.equals(want))) {
              mismatch = `frame ${matched}: got ${len} bytes, want ${want?.length}`;
            }
            matched++;
            inbox = inbox.subarray(4 + len);
          }
          if (matched >= frames.length) resolve();
        });
        client.once('close', () => reject(new Error(`client closed after ${matched} frames`)));
        client.once('error', reject);
      });
      for (const frame of frames) {
        const header = Buffer.alloc(4);
        header.writeUInt32BE(frame.length);
        client.write(Buffer.concat([header, frame]));
      }
      setTimeout(() => echo.resume(), 1000);
      await withTimeout(allBack, 80_000, `echo of ${frames.length} frames`);
      const statsBeforeClose = relays.map((relay) => relay.stats());

      // The client hangs up: the first relay sees EOF and closes both its ends,
      // so the second one sees EOF too.
      client.end();
      await withTimeout(Promise.all(relayClosed), 10_000, 'relay close events');
      return {
        frames: frames.length,
        totalBytes,
        matched,
        mismatch,
        echoFrames,
        echoBad,
        stats: statsBeforeClose,
        closeInfos,
        closedFlags: relays.map((relay) => relay.closed),
      };
    } finally {
      for (const socket of sockets) socket.destroy();
      for (const relay of relays) relay.close();
      for (const listener of listeners) listener.close();
    }
  }

  /** SO_VM_SOCKETS_BUFFER_{SIZE,MIN_SIZE,MAX_SIZE} of this process's `fds`, read by the probe. */
  function vsockBufferOptions(fds) {
    if (!config.sockoptProbe) return Promise.resolve({ error: 'no sockoptProbe in the config' });
    return new Promise((resolve) => {
      execFile(
        config.sockoptProbe,
        [String(process.pid), ...fds.map(String)],
        { timeout: 10_000 },
        (err, stdout, stderr) => {
          const byFd = {};
          for (const line of stdout.split('\n')) {
            if (line.startsWith('{')) {
              const entry = JSON.parse(line);
              byFd[entry.fd] = entry;
            }
          }
          resolve(err ? { ...byFd, error: `${errorText(err)} ${stderr}`.trim() } : byFd);
        },
      );
    });
  }

  /**
   * client ─vsock→ [A1 ═Relay═ B1] ─vsock→ [A2 ═Relay═ B2] ─vsock→ sink, offload framing.
   * 1. The probe reads SO_VM_SOCKETS_BUFFER_SIZE of the four relay ends (and of
   *    the sink, a plain vsock socket, for the kernel's default).
   * 2. Nobody reads the sink: the client sends 80 units of 60 kB and the chain
   *    fills up. Vsock credit is the receiver's buffer size, so what relay 1
   *    moved minus what relay 2 moved (A2's receive queue plus relay 2's own
   *    256 KiB buffer) reaches 1 MiB only if A2's buffer was raised.
   * 3. The sink then reads: every unit arrives intact and in order.
   */
  async function offloadStreamBuffers() {
    const ports = [4201, 4202, 4203];
    const listeners = [];
    const relays = [];
    const sockets = [];
    let sinkStream;
    try {
      for (const port of ports) listeners.push(await listenStream({ kind: 'vsock' }, port));
      const hop1 = await dialPair(listeners[0], ports[0]);
      const hop2 = await dialPair(listeners[1], ports[1]);
      const hop3 = await dialPair(listeners[2], ports[2]);
      sinkStream = hop3.accepted; // unread (a StreamSocket, not a net.Socket) until step 3
      const relayFds = [
        hop1.accepted.detachFd(),
        hop2.dialled.detachFd(),
        hop2.accepted.detachFd(),
        hop3.dialled.detachFd(),
      ];
      const offload = { framing: 'offload' };
      const r1 = Relay.open(
        { kind: 'stream', fd: relayFds[0] },
        { kind: 'stream', fd: relayFds[1] },
        offload,
      );
      relays.push(r1);
      const r2 = Relay.open(
        { kind: 'stream', fd: relayFds[2] },
        { kind: 'stream', fd: relayFds[3] },
        offload,
      );
      relays.push(r2);
      const sinkFd = sinkStream.fd;
      const options = await vsockBufferOptions([...relayFds, sinkFd]);
      const relayEnds = relayFds.map((fd) => options[fd] ?? null);
      const plainSocket = options[sinkFd] ?? null;

      const client = hop1.dialled.toNetSocket();
      sockets.push(client);
      const VNET_HDR = 12; // all zero: no checksum or segmentation offload asked for
      const units = [];
      for (let i = 0; i < 80; i++) {
        const payload = randomBytes(60_000);
        const unit = Buffer.alloc(4 + VNET_HDR + payload.length);
        unit.writeUInt32BE(VNET_HDR + payload.length, 0);
        payload.copy(unit, 4 + VNET_HDR);
        units.push(unit);
        client.write(unit);
      }
      // Bounded poll: stops as soon as 1 MiB is between the relays, or reports what was.
      const between = () => r1.stats().aToB.bytes - r2.stats().aToB.bytes;
      const deadline = Date.now() + 20_000;
      while (between() < 1024 * 1024 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const held = {
        relay1Bytes: r1.stats().aToB.bytes,
        relay2Bytes: r2.stats().aToB.bytes,
        betweenRelays: between(),
      };

      const sink = sinkStream.toNetSocket();
      sinkStream = undefined;
      sockets.push(sink);
      const expected = Buffer.concat(units);
      const received = await withTimeout(
        readBytes(sink, expected.length),
        40_000,
        `reading ${expected.length} bytes at the sink`,
      );
      return {
        relayEnds,
        plainSocket,
        probeError: options.error ?? null,
        held,
        units: units.length,
        intact: received.subarray(0, expected.length).equals(expected),
        extraBytes: received.length - expected.length,
        stats: relays.map((relay) => relay.stats()),
      };
    } finally {
      sinkStream?.close();
      for (const socket of sockets) socket.destroy();
      for (const relay of relays) relay.close();
      for (const listener of listeners) listener.close();
    }
  }
}

process.exit(0);
