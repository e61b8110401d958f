// Forwarder benchmark (issue 5): RSS after start and with 4 devices, time from
// AttachNetwork to the first frame relayed, DNS latency for a known and an
// unknown (forwarded) name. Needs root (a network namespace), `tsc -b` and the
// vsock addon. Prints one JSON object on stdout.
//   node bench/forwarder/run.mjs [--bundle] [--rounds 20] [--queries 500] [--node-options=--max-semi-space-size=1]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectForwarder } from '../../packages/forwarder/dist/client.js';
import { summarize } from '../dist/stats.js';

const root = new URL('../..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    bundle: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '20' },
    queries: { type: 'string', default: '500' },
    'node-options': { type: 'string', default: '' },
  },
});
const main = values.bundle
  ? join(root, 'vminit/dist/forwarder.mjs')
  : join(root, 'packages/forwarder/dist/main.js');
const tag = `anfb${process.pid % 100000}`;
const ns = `${tag}-vm`;
const dir = mkdtempSync(`/tmp/${tag}-`);
const children = [];

const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Math.round((Number(line.split(/\s+/)[1]) / 1024) * 10) / 10;
}
function inNs(args, options = {}) {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], options);
  children.push(child);
  return child;
}
function output(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
  });
}

const arp = (senderMac, senderIp, targetIp) => {
  const mac = (m) => Buffer.from(m.replaceAll(':', ''), 'hex');
  const ip4 = (a) => Buffer.from(a.split('.').map(Number));
  const frame = Buffer.concat([
    Buffer.alloc(6, 0xff),
    mac(senderMac),
    Buffer.from([8, 6, 0, 1, 8, 0, 6, 4, 0, 1]),
    mac(senderMac),
    ip4(senderIp),
    Buffer.alloc(6),
    ip4(targetIp),
  ]);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(frame.length);
  return Buffer.concat([prefix, frame]);
};

/** Attach, connect the data port, send an ARP request, wait for the reply; ms from the call. */
async function attachToFirstFrame(client, device, port, address) {
  const started = process.hrtime.bigint();
  await client.attachNetwork({
    device,
    vsockPort: port,
    ipAddress: address,
    gateway: '',
    netmask: 24,
    macAddress: '',
    defaultRoute: false,
    mtu: 0,
  });
  const socket = connect(join(dir, `${port}.sock`));
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', resolve);
  });
  socket.write(arp('02:00:5e:99:00:01', address.replace(/\.\d+$/, '.1'), address));
  await new Promise((resolve) => socket.once('data', resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  socket.destroy();
  return ms;
}

const result = {
  benchmark: 'forwarder',
  entry: values.bundle ? 'vminit bundle via vminit/arca-net-forwarder' : 'dist/main.js',
  nodeOptions: values['node-options'],
};
try {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const upstream = inNs([
    process.execPath,
    join(root, 'test/forwarder/fake-upstream.mjs'),
    '127.0.0.53',
    '53',
  ]);
  await new Promise((resolve) => upstream.stdout.once('data', resolve));
  // The bundle runs as the VM runs it: through the launcher (which execs node,
  // so the pid measured is the forwarder's), with the launcher's Node options.
  const argv = values.bundle
    ? [join(root, 'vminit/arca-net-forwarder'), '--upstream', '127.0.0.53:53']
    : [process.execPath, main, '--listen', `unixdir:${dir}`, '--upstream', '127.0.0.53:53'];
  const fwd = inNs(argv, {
    env: {
      ...process.env,
      ARCA_NET_LOG_LEVEL: 'warn',
      ARCA_NET_LOG_FORMAT: 'json',
      NODE: process.execPath,
      ARCA_NET_FORWARDER_DIR: join(root, 'vminit/dist'),
      ARCA_NET_FORWARDER_LISTEN: `unixdir:${dir}`,
      NODE_OPTIONS: values['node-options'],
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const socketPath = join(dir, '5555.sock');
  const connection = connectForwarder(socketPath);
  const startedAt = Date.now();
  while (!(existsSync(socketPath) && (await connection.isServing()))) {
    if (Date.now() - startedAt > 20000) throw new Error('forwarder did not start');
    await sleep(20);
  }
  result.startMs = Date.now() - startedAt;
  await sleep(500);
  result.rssAfterStartMiB = rssMiB(fwd.pid);

  const client = connection.forwarder;
  for (let i = 0; i < 4; i++) await attachToFirstFrame(client, `eth${i}`, 20000 + i, `10.${i}.0.5`);
  await sleep(500);
  result.rssWith4DevicesMiB = rssMiB(fwd.pid);

  const times = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    times.push(await attachToFirstFrame(client, 'eth9', 29000, '198.51.100.9'));
    await client.detachNetwork({ device: 'eth9' });
  }
  result.attachToFirstFrameMs = summarize(times);
  result.rssAfterAttachRoundsMiB = rssMiB(fwd.pid);

  await client.updateDNSMappings({
    networks: {
      front: { containers: [{ name: 'web', id: '', ipAddress: '198.51.100.10', aliases: [] }] },
    },
    upstreamServers: [],
  });
  const dnsClient = join(root, 'bench/forwarder/dns-client.mjs');
  for (const [key, name] of [
    ['dnsKnownUs', 'web'],
    ['dnsUnknownForwardedUs', 'elsewhere.example'],
  ]) {
    const out = await output(
      inNs([process.execPath, dnsClient, '127.0.0.11', '53', name, values.queries]),
    );
    const { latenciesUs, rcodes } = JSON.parse(out);
    result[key] = { ...summarize(latenciesUs.slice(10)), rcodes };
  }
  connection.close();
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await sleep(300);
  try {
    ip('netns', 'delete', ns);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
