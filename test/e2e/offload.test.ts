/**
 * Offload mode on a real lab (`lab up --offload`: OVS with userspace TSO,
 * attachments negotiated per connect): an offload container, a plain one
 * (`lab run --offload off`) and one forced on with `network connect
 * --driver-opt arca-net.offload=on`, on one network (192.0.2.0/25; the lab's
 * outside world is 198.51.100.0/24). Traffic only between the lab's own
 * namespaces. iperf3 runs through runIperfClient, which throws on iperf3's
 * own `error` field.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LabContainer,
  type LabSettings,
  runCommand,
  runIperfClient,
  startIperfServer,
} from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

const lab = new LabHarness('offload');
const servers: ChildProcess[] = [];
let port = 5300 + (process.pid % 200);

const stats = (name: string) => lab.json<LabContainer>('lab', 'stats', name);
const ns = async (name: string) => (await stats(name)).namespace;

/** iperf3 TCP from `from` to `ip` in `to`'s namespace (or the outside one): bytes moved. */
async function iperf(from: string, toNs: string, ip: string, reverse = false): Promise<number> {
  const p = port++;
  servers.push(await startIperfServer(toNs, p, { bind: ip, once: true }));
  const result = await runIperfClient(await ns(from), ip, p, {
    seconds: 2,
    ...(reverse ? { reverse: true } : {}),
  });
  return result.bytes;
}

beforeAll(async () => {
  await lab.ok('lab', 'up', '--offload', '--quiet');
  await lab.ok('network', 'create', '--subnet', '192.0.2.0/25', 'net');
  await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.10', 'off1');
  await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.11', '--offload', 'off', 'plain');
  await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.12', 'off2');
}, 180_000);

afterAll(async () => {
  for (const server of servers) server.kill('SIGKILL');
  await lab.down();
});

describe('lab up --offload', () => {
  it('records the choice, and each attachment shows the framing the host negotiated', async () => {
    const settings = JSON.parse(await readFile(`${lab.dir}/lab.json`, 'utf8')) as LabSettings;
    expect(settings.offload).toBe('auto');
    expect((await stats('off1')).attachments[0]?.framing).toBe('offload');
    expect((await stats('plain')).attachments[0]?.framing).toBe('plain');
    expect((await stats('plain')).attachments[0]?.offload).toBe('off');
    const table = await lab.ok('lab', 'stats', 'off1');
    expect(table).toMatch(/FRAMING/);
    expect(table).toMatch(/\boffload\b/);
  });

  it('carries TCP between two offload containers as segments larger than the MTU', async () => {
    const before = (await stats('off1')).attachments[0]?.relay?.toHelper;
    const bytes = await iperf('off1', await ns('off2'), '192.0.2.12');
    expect(bytes).toBeGreaterThan(1_000_000);
    const after = (await stats('off1')).attachments[0]?.relay?.toHelper;
    const frames = (after?.frames ?? 0) - (before?.frames ?? 0);
    const moved = (after?.bytes ?? 0) - (before?.bytes ?? 0);
    expect(moved / frames).toBeGreaterThan(4000);
    expect(after?.protocolErrors).toBe(0);
  });

  it("gives ovs-vswitchd's port sockets room for bursts of 64 KiB segments", async () => {
    // rmem_default (208 KiB) held three segments: bursts were dropped there and TCP retransmitted.
    const out = (
      await runCommand([
        'ip',
        'netns',
        'exec',
        `${lab.prefix}-helper`,
        'ss',
        '-0',
        '-a',
        '-m',
        '-p',
      ])
    ).stdout;
    const ovs = out.split('\n').filter((line) => line.includes('"ovs-vswitchd"'));
    expect(ovs.length).toBeGreaterThanOrEqual(3);
    for (const line of ovs) {
      expect(Number(/rb(\d+)/.exec(line)?.[1])).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    }
  });

  it('carries UDP GSO (UDP_SEGMENT) between offload containers: the TAPs offer no USO', async () => {
    // OVS 3.1's userspace datapath loses UDP GSO packets; without USO on the TAP the sender's
    // kernel segments them before the forwarder reads them.
    const script = fileURLToPath(new URL('./udp-gso.py', import.meta.url));
    const receiver = spawn(
      'ip',
      ['netns', 'exec', await ns('off2'), 'python3', script, 'recv', '192.0.2.12', '6001', '100'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const done = new Promise<void>((resolve) => receiver.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      receiver.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready')) resolve();
      });
      receiver.once('exit', (code) => reject(new Error(`receiver exited ${code}: ${out}`)));
    });
    await runCommand([
      'ip',
      'netns',
      'exec',
      await ns('off1'),
      'python3',
      script,
      'send',
      '192.0.2.12',
      '6001',
      '10',
    ]);
    await done;
    expect(Number(out.replace('ready', '').trim())).toBe(100);
    const features = (await lab.exec('off1', 'ethtool', '-k', 'eth0')).stdout;
    expect(features).toMatch(/tx-udp-segmentation: off/);
  });

  it('plain and offload containers on one network ping and run iperf3 both ways', async () => {
    for (const [from, to] of [
      ['off1', '192.0.2.11'],
      ['plain', '192.0.2.10'],
    ] as const) {
      const ping = await lab.exec(from, 'ping', '-c', '3', '-i', '0.2', '-W', '2', to);
      expect(pingReplies(ping.stdout)).toBe(3);
    }
    expect(await iperf('off1', await ns('plain'), '192.0.2.11')).toBeGreaterThan(1_000_000);
    expect(await iperf('plain', await ns('off1'), '192.0.2.10')).toBeGreaterThan(1_000_000);
  });

  it('an offload container reaches the outside world through the router (NAT) with TCP both ways', async () => {
    const outside = `${lab.prefix}-outside`;
    expect(await iperf('off1', outside, '198.51.100.1')).toBeGreaterThan(100_000);
    expect(await iperf('off1', outside, '198.51.100.1', true)).toBeGreaterThan(100_000);
  });

  it('network connect --driver-opt arca-net.offload=on forces offload, and a bad value is refused', async () => {
    await lab.ok('network', 'create', '--subnet', '192.0.2.128/25', 'net2');
    await lab.ok('network', 'connect', '--driver-opt', 'arca-net.offload=on', 'net2', 'plain');
    const attachments = (await stats('plain')).attachments;
    expect(attachments.find((a) => a.networkName === 'net2')?.framing).toBe('offload');
    const bad = await lab.cli(
      'network',
      'connect',
      '--driver-opt',
      'arca-net.offload=fast',
      'net2',
      'off2',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/arca-net\.offload/);
  });
});
