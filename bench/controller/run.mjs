// Controller benchmark (issue 4): latency of CreateBridge, AttachContainer,
// DetachContainer and DeleteBridge against real OVS/OVN, with the helper run
// as the VM runs it (helpervm/startup.sh in a namespace execs the controller,
// unixdir listen address). Each AttachContainer creates a TAP on br-int and
// returns once OVN reports the port up. Needs root, `tsc -b` and the vsock addon.
// Prints one JSON object on stdout (times in ms).
//   node bench/controller/run.mjs [--calls 100]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectController } from '../../packages/controller/dist/index.js';
import { summarize } from '../dist/stats.js';

const root = new URL('../..', import.meta.url).pathname;
const { values } = parseArgs({ options: { calls: { type: 'string', default: '100' } } });
const calls = Number(values.calls);
if (!(calls >= 1 && calls <= 250)) throw new Error('--calls must be 1..250');
const tag = `ancb${process.pid % 100000}`;
const ns = `${tag}-vm`;
const dir = mkdtempSync(`/tmp/${tag}-`);
const env = {
  ...process.env,
  ARCA_HELPER_STATE: join(dir, 'state'),
  ARCA_HELPER_RUN: join(dir, 'run'),
  ARCA_CONTROLLER_LISTEN: `unixdir:${join(dir, 'vm')}`,
  ARCA_NET_LOG_LEVEL: 'warn',
};
const script = join(root, 'helpervm/startup.sh');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

let controller;
let conn;
try {
  execFileSync('ip', ['netns', 'add', ns]);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  execFileSync('ip', ['netns', 'exec', ns, script, 'start'], {
    env,
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  controller = spawn('ip', ['netns', 'exec', ns, script, 'run'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  conn = connectController(join(dir, 'vm', '9999.sock'));
  for (let i = 0; ; i++) {
    if (
      await conn.client.getHealth({}).then(
        () => true,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error('controller did not start');
    await sleep(100);
  }
  const { client } = conn;
  const create = [];
  const attach = [];
  const detach = [];
  const remove = [];
  // RFC 2544 benchmarking range, one /24 per network: 198.18.0.0/24, 198.18.1.0/24, …
  for (let i = 0; i < calls; i++) {
    create.push(
      await timed(() =>
        client.createBridge({ networkId: `bench-net-${i}`, subnet: `198.18.${i}.0/24` }),
      ),
    );
  }
  for (let i = 0; i < calls; i++) {
    const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    attach.push(
      await timed(() =>
        client.attachContainer({
          containerId: `bench-c${i}`,
          networkId: 'bench-net-0',
          macAddress: mac,
          vsockPort: 20000 + i,
        }),
      ),
    );
  }
  for (let i = 0; i < calls; i++) {
    detach.push(
      await timed(() =>
        client.detachContainer({ containerId: `bench-c${i}`, networkId: 'bench-net-0' }),
      ),
    );
  }
  for (let i = 0; i < calls; i++) {
    remove.push(await timed(() => client.deleteBridge({ networkId: `bench-net-${i}` })));
  }
  const result = {
    suite: 'controller',
    unit: 'ms',
    calls,
    note: 'sequential calls over gRPC on a Unix socket; AttachContainer includes the TAP, the OVS port and waiting for OVN to report the port up',
    createBridge: summarize(create),
    attachContainer: summarize(attach),
    detachContainer: summarize(detach),
    deleteBridge: summarize(remove),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  conn?.close();
  if (controller && controller.exitCode === null) {
    const exited = new Promise((r) => controller.once('exit', r));
    execFileSync('ip', ['netns', 'exec', ns, script, 'stop'], { env, stdio: 'ignore' });
    await exited;
  } else {
    try {
      execFileSync('ip', ['netns', 'exec', ns, script, 'stop'], { env, stdio: 'ignore' });
    } catch {}
  }
  try {
    execFileSync('ip', ['netns', 'delete', ns]);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}
