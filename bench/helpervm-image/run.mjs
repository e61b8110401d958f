// Helper-VM image benchmark (issue 17): the test image (helpervm/image.sh test,
// debootstrap Debian 12 base) in a private dockerd of its own (own data root,
// socket and network namespace, overlay2), then: the image's size, the time
// from `docker run` to the controller saying SERVING (grpc.health.v1 on the
// bind-mounted socket, polled every 20 ms), and the controller's RSS idle and
// with 100 attachments on one network. Needs root, docker.io, debootstrap,
// `tsc -b` and the vsock addon. Prints one JSON object on stdout.
//   node bench/helpervm-image/run.mjs [--runs 3] [--attachments 100]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkControllerHealth, connectController } from '../../packages/controller/dist/index.js';
import { summarize } from '../dist/stats.js';

const root = new URL('../..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    attachments: { type: 'string', default: '100' },
  },
});
const runs = Number(values.runs);
const attachments = Number(values.attachments);
if (!(runs >= 1 && runs <= 20)) throw new Error('--runs must be 1..20');
if (!(attachments >= 1 && attachments <= 200)) throw new Error('--attachments must be 1..200');
const tag = `aib${process.pid % 100000}`;
const dir = `/var/tmp/${tag}`;
const host = `unix://${dir}/docker.sock`;
const image = 'arca-net/helpervm:test';
const hex = (n) => n.toString(16).padStart(2, '0');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line) => process.stderr.write(`helpervm-image: ${line}\n`);
const docker = (...args) =>
  execFileSync('docker', [`--host=${host}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

/** Polls `check` every `ms` until it is true or `timeoutMs` passes. */
async function until(check, timeoutMs, ms = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(ms);
  }
}

/** The controller's RSS in MiB: VmRSS of the pid in its pidfile, read inside the container. */
function controllerRssMiB(name) {
  const status = docker(
    'exec',
    name,
    'sh',
    '-c',
    'cat /proc/$(cat /run/arca-net-helper/controller.pid)/status',
  );
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

let dockerd;
try {
  execFileSync('ip', ['netns', 'add', tag]);
  mkdirSync(dir, { recursive: true });
  const out = openSync(join(dir, 'dockerd.log'), 'a');
  dockerd = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${tag}`,
      'dockerd',
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/docker.pid`,
      `--host=${host}`,
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--storage-driver=overlay2',
      `--containerd-namespace=${tag}`,
      `--containerd-plugins-namespace=${tag}p`,
    ],
    { stdio: ['ignore', out, out] },
  );
  if (!(await until(async () => docker('version') !== '', 60_000, 200)))
    throw new Error('dockerd did not start');
  log('building the test image');
  execFileSync('node', [join(root, 'helpervm/build.mjs')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  execFileSync(join(root, 'helpervm/image.sh'), ['test'], {
    env: { ...process.env, DOCKER_HOST: host },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const imageMB = Math.round(Number(docker('image', 'inspect', '-f', '{{.Size}}', image)) / 1e6);

  const startMs = [];
  let rssIdleMiB = 0;
  let rssAttachedMiB = 0;
  for (let run = 0; run < runs; run++) {
    const name = `${tag}-${run}`;
    const ctlDir = join(dir, `ctl-${run}`);
    mkdirSync(ctlDir, { recursive: true });
    const t0 = process.hrtime.bigint();
    docker(
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--cap-add',
      'NET_ADMIN',
      '--device',
      '/dev/net/tun',
      '-v',
      `${ctlDir}:/run/arca-net-controller`,
      '-e',
      'ARCA_CONTROLLER_LISTEN=unixdir:/run/arca-net-controller',
      image,
    );
    const serving = await until(
      async () => (await checkControllerHealth(`unixdir:${ctlDir}`, 1000)) === 'SERVING',
      120_000,
    );
    if (!serving) throw new Error(`${name} never said SERVING (docker logs ${name})`);
    startMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (run === runs - 1) {
      rssIdleMiB = controllerRssMiB(name);
      const conn = connectController(join(ctlDir, '9999.sock'));
      try {
        await conn.client.createBridge({ networkId: 'bench-net', subnet: '198.51.100.0/24' });
        for (let i = 0; i < attachments; i++) {
          await conn.client.attachContainer({
            containerId: `c${i}`,
            networkId: 'bench-net',
            macAddress: `02:00:00:00:${hex(i >> 8)}:${hex(i & 255)}`,
            vsockPort: 20000 + i,
          });
        }
      } finally {
        conn.close();
      }
      rssAttachedMiB = controllerRssMiB(name);
    }
    docker('rm', '-f', name);
  }
  process.stdout.write(
    `${JSON.stringify({ imageMB, startToServingMs: summarize(startMs), rssIdleMiB, rssAttachedMiB, attachments })}\n`,
  );
} finally {
  try {
    for (const id of docker('ps', '-aq').split('\n').filter(Boolean)) docker('rm', '-f', id);
  } catch {}
  if (dockerd?.pid) {
    dockerd.kill('SIGTERM');
    await until(async () => dockerd.exitCode !== null || dockerd.signalCode !== null, 30_000, 100);
  }
  for (const line of execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' })
    .split('\n')
    .reverse()) {
    const mount = line.split(' ')[1];
    if (mount?.startsWith(`${dir}/`)) execFileSync('umount', ['-l', mount]);
  }
  rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync('ip', ['netns', 'delete', tag]);
  } catch {}
}
