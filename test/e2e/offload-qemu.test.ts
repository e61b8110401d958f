/**
 * Issue 14, item 7: a QEMU guest with plain framing talking to an offload
 * container on one lab network (`lab up --offload`). The guest is
 * test/vsock-qemu's (TCG, Debian cloud kernel, busybox + node) with a
 * virtio-net NIC on QEMU's `-netdev stream`: QEMU dials a helper data port
 * that the test opens with AttachContainer (offload=false), so the guest's
 * frames go QEMU → helper TAP relay (plain) → OVS (userspace TSO) → helper TAP
 * relay (offload) → host relay → forwarder → the container, and back. Large
 * segments from the offload container must be cut to MTU-sized frames for the
 * plain port. Checks: ping from the guest, a TCP echo dialled by the guest and
 * one dialled by the container (small transfers: TCG is slow). Traffic only
 * between the lab's own namespaces and the guest (192.0.2.0/25).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectNetworkControl,
  type NetworkControlClient,
  type NetworkInspect,
  type ServiceConnection,
} from '../../packages/host/dist/index.js';
import type { LabContainer } from '../../packages/lab/dist/index.js';
import {
  buildGuestImage,
  GuestFiles,
  type GuestResult,
  type GuestRun,
  runGuest,
} from '../vsock-qemu/guest.js';
import { LabHarness } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const guestDir = join(here, '..', 'vsock-qemu', 'guest');
const peerScript = join(here, 'qemu-peer.mjs');

const lab = new LabHarness('offqemu');
const GUEST_IP = '192.0.2.20';
const GUEST_MAC = '02:42:c0:00:02:14';
const CONTAINER_IP = '192.0.2.10';
const BYTES = 256 * 1024;
const guestId = randomBytes(32).toString('hex');
// A data port outside the host's allocations in this lab (it has one container).
const dataPort = 29_000 + (process.pid % 900);
const serverPort = 5400 + (process.pid % 200);
const guestPort = serverPort + 200;

let control: ServiceConnection<NetworkControlClient> | undefined;
let networkId = '';
let run: GuestRun | undefined;
let setupError: unknown;
const children: ChildProcess[] = [];
let serverOut = '';
let dialOut = '';

function guestResult(check: string): GuestResult {
  if (!run) throw setupError ?? new Error('the guest did not run');
  const found = run.results.get(check);
  if (!found) {
    throw new Error(
      `the guest reported no '${check}' result (exit ${run.exitCode}, timed out: ${run.timedOut}); console tail:\n${run.console.slice(-3000)}`,
    );
  }
  return found;
}

/** Starts `node qemu-peer.mjs ARGS` in `namespace`, its stdout going to `onOut`. */
function peer(namespace: string, args: string[], onOut: (text: string) => void): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, peerScript, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.setEncoding('utf8').on('data', onOut);
  children.push(child);
  return child;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

beforeAll(async () => {
  try {
    await lab.ok('lab', 'up', '--offload', '--quiet');
    await lab.ok('network', 'create', '--subnet', '192.0.2.0/25', 'net');
    await lab.ok('lab', 'run', '--network', 'net', '--ip', CONTAINER_IP, 'off1');
    const [net] = await lab.json<NetworkInspect[]>('network', 'inspect', 'net');
    networkId = net!.Id;
    const namespace = (await lab.json<LabContainer>('lab', 'stats', 'off1')).namespace;

    // The guest's port on the network: plain framing, like any QEMU guest.
    const helperDir = join(lab.dir, 'vms', 'helper');
    control = await connectNetworkControl({ kind: 'unixdir', dir: helperDir });
    const attached = await control.client.attachContainer({
      containerId: guestId,
      networkId,
      ipAddress: GUEST_IP,
      macAddress: GUEST_MAC,
      hostname: 'qemu-guest',
      aliases: [],
      vsockPort: dataPort,
      offload: false,
    });
    expect(attached.offload ?? false).toBe(false);
    const socket = join(helperDir, `${dataPort + 10_000}.sock`);
    if (!existsSync(socket)) throw new Error(`the helper did not open ${socket}`);

    // The container's echo server for the guest's dial, and its dialler for the guest's server.
    const server = peer(namespace, ['serve', CONTAINER_IP, String(serverPort)], (t) => {
      serverOut += t;
    });
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (serverOut.includes('listening')) {
          clearInterval(poll);
          resolve();
        } else if (server.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`the container's echo server exited (${server.exitCode})`));
        }
      }, 50);
    });
    peer(namespace, ['dial', GUEST_IP, String(guestPort), String(BYTES)], (t) => {
      dialOut += t;
    });

    const image = await buildGuestImage();
    const files = new GuestFiles();
    files.addFile(join(guestDir, 'net-run.sh'), '/guest/run.sh');
    files.addFile(join(guestDir, 'net-guest.mjs'), '/guest/net-guest.mjs');
    files.addData(
      '/guest/net.json',
      JSON.stringify({
        ip: GUEST_IP,
        prefix: 25,
        peer: CONTAINER_IP,
        peerPort: serverPort,
        listenPort: guestPort,
        bytes: BYTES,
      }),
    );
    run = await runGuest({
      image,
      files,
      timeoutMs: 280_000,
      qemuArgs: [
        ...['-netdev', `stream,id=n0,server=off,addr.type=unix,addr.path=${socket}`],
        ...['-device', `virtio-net-pci,netdev=n0,mac=${GUEST_MAC}`],
      ],
    });
    if (process.env.ARCA_QEMU_CONSOLE) writeFileSync(process.env.ARCA_QEMU_CONSOLE, run.console);
    for (const child of children) await exited(child, 10_000);
  } catch (err) {
    setupError = err;
  }
}, 600_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (control && networkId) {
    await control.client
      .detachContainer({ containerId: guestId, networkId })
      .catch(() => undefined);
  }
  await control?.close();
  await lab.down();
});

describe('a QEMU guest (plain framing) and an offload container on one network', () => {
  it('the container is attached in offload mode', async () => {
    if (setupError) throw setupError;
    const c = await lab.json<LabContainer>('lab', 'stats', 'off1');
    expect(c.attachments[0]?.framing).toBe('offload');
  });

  it('the guest brings up its virtio-net NIC with the MAC the helper expects', () => {
    expect(guestResult('link')).toMatchObject({ ok: true, mac: GUEST_MAC });
  });

  it('the guest pings the offload container', () => {
    expect(guestResult('ping')).toMatchObject({ ok: true, received: 3 });
  });

  it('a TCP connection dialled by the guest carries data both ways intact', () => {
    expect(guestResult('tcp-dial')).toMatchObject({
      ok: true,
      sent: BYTES,
      received: BYTES,
      intact: true,
    });
    expect(serverOut).toContain(`"echoed":${BYTES}`);
  });

  it('a TCP connection dialled by the container carries data both ways intact', () => {
    expect(guestResult('tcp-accept')).toMatchObject({
      ok: true,
      echoed: BYTES,
      from: CONTAINER_IP,
    });
    const line = dialOut.split('\n').find((l) => l.startsWith('{'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      ok: true,
      sent: BYTES,
      received: BYTES,
      intact: true,
    });
  });
});
