/**
 * Two simulated hosts (`lab up --hosts 2`): each its own lab host process,
 * helper namespace (an OVN chassis) and containers, joined by the underlay
 * 192.0.2.0/24; host 1's helper is the central. Overlay networks span both
 * hosts over Geneve; bridge networks stay on their host (docs/cluster.md).
 * Every host has its own uplink into the lab's outside network: host 2's
 * containers publish ports and reach the outside world through it.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dhcpLease,
  helperStartupScript,
  hostPaths,
  inNamespace,
  LabPaths,
  labHelperEnv,
  readPidfile,
  restartLabHost,
  runCommand,
  startUdpEcho,
  stopProcess,
  tryCommand,
  udpEcho,
} from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from '../e2e/harness.js';
import { freePort } from '../free-port.js';
import { startHttpd, wget } from './web.js';

interface Container {
  name: string;
  namespace: string;
  attachments: Array<{ networkName: string; ip: string; device: string }>;
}

interface PublishedPort {
  hostPort: number;
  containerPort: number;
  protocol: string;
  externalAddress: string;
}

interface Inspect {
  Name: string;
  Id: string;
  Driver: string;
  Scope: string;
  Attachable: boolean;
  Options: Record<string, string>;
}

const lab = new LabHarness('overlay');

/** `lab run [--host K] --network NET NAME`, returning the container. */
async function run(host: number, network: string, name: string): Promise<Container> {
  return lab.json<Container>('lab', 'run', '--host', String(host), '--network', network, name);
}

function ipOn(c: Container, network: string): string {
  const a = c.attachments.find((x) => x.networkName === network);
  if (!a) throw new Error(`${c.name} is not on ${network}`);
  return a.ip;
}

/** `network create -d overlay --subnet SUBNET [ARGS…] NAME` (`--host 2` in ARGS for host 2). */
function overlay(name: string, subnet: string, ...args: string[]): Promise<string> {
  return lab.ok('network', 'create', '-d', 'overlay', '--subnet', subnet, ...args, name);
}

/** `lab exec --host K CONTAINER -- COMMAND…`. */
function execOn(host: number, container: string, ...command: string[]) {
  return lab.cli('lab', 'exec', '--host', String(host), container, '--', ...command);
}

/** Pings from a container on host `host`; replies received (bounded retries for the first ARP/tunnel). */
async function pings(host: number, from: string, target: string, count = 3): Promise<number> {
  const result = await execOn(
    host,
    from,
    'ping',
    '-c',
    String(count),
    '-i',
    '0.2',
    '-W',
    '2',
    target,
  );
  return pingReplies(result.stdout);
}

let a1: Container;
let b1: Container;

beforeAll(async () => {
  await lab.ok('lab', 'up', '--hosts', '2', '--quiet');
  await overlay('ov', '10.77.0.0/24');
  a1 = await run(1, 'ov', 'a1');
  b1 = await run(2, 'ov', 'b1');
}, 240_000);

afterAll(async () => {
  await lab.down();
}, 180_000);

describe('lab up --hosts 2', () => {
  it('shows both hosts in lab status and lab ps', async () => {
    const status = await lab.json<{ running: boolean; components: Array<{ name: string }> }>(
      'lab',
      'status',
    );
    expect(status.running).toBe(true);
    const names = status.components.map((c) => c.name);
    expect(names).toContain('host 1: ovn-northd');
    expect(names).toContain('host 2: ovn-controller');
    expect(names).not.toContain('host 2: ovn-northd');
    const ps = await lab.json<Array<{ name: string; host: number }>>('lab', 'ps');
    expect(ps.map((c) => [c.name, c.host]).sort()).toEqual([
      ['a1', 1],
      ['b1', 2],
    ]);
  });
});

describe('an overlay network across two hosts', () => {
  it('is one network on both hosts: same id, driver overlay, scope swarm, MTU 1400', async () => {
    const [one] = await lab.json<Inspect[]>('network', 'inspect', 'ov');
    const [two] = await lab.json<Inspect[]>('network', 'inspect', '--host', '2', 'ov');
    expect(two?.Id).toBe(one?.Id);
    expect(one).toMatchObject({ Driver: 'overlay', Scope: 'swarm', Attachable: true });
    expect(two).toMatchObject({ Driver: 'overlay', Scope: 'swarm' });
    expect(one?.Options['com.docker.network.driver.mtu']).toBe('1400');
    const link = await execOn(2, 'b1', 'ip', 'link', 'show', 'eth0');
    expect(link.stdout).toMatch(/mtu 1400/);
  });

  it('gives the containers on both hosts distinct addresses of the subnet', () => {
    expect(ipOn(a1, 'ov')).toMatch(/^10\.77\.0\.\d+$/);
    expect(ipOn(b1, 'ov')).toMatch(/^10\.77\.0\.\d+$/);
    expect(ipOn(a1, 'ov')).not.toBe(ipOn(b1, 'ov'));
  });

  it('carries pings across hosts by address, both ways', async () => {
    expect(await pings(1, 'a1', ipOn(b1, 'ov'))).toBeGreaterThan(0);
    expect(await pings(2, 'b1', ipOn(a1, 'ov'))).toBeGreaterThan(0);
  });

  it('resolves names across hosts', async () => {
    expect(await pings(1, 'a1', 'b1')).toBeGreaterThan(0);
    expect(await pings(2, 'b1', 'a1')).toBeGreaterThan(0);
  });

  it('reaches the outside world from host 2 through the gateway chassis (host 1)', async () => {
    // The network's router is distributed: host 2's chassis answers for the gateway itself.
    expect(await pings(2, 'b1', '10.77.0.1')).toBeGreaterThan(0);
    expect(await pings(2, 'b1', '198.51.100.1')).toBeGreaterThan(0);
    const lookup = await execOn(2, 'b1', 'getent', 'hosts', 'www.example.com');
    expect(lookup.stdout).toMatch(/203\.0\.113\.80/);
  });

  it('cannot be removed while another host has endpoints on it', async () => {
    await overlay('shared', '10.76.0.0/24');
    await run(2, 'shared', 'b0');
    const rm = await lab.cli('network', 'rm', 'shared');
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/network shared id [0-9a-f]{64} has active endpoints/);
    await lab.ok('lab', 'rm', '--host', '2', 'b0');
    await lab.ok('network', 'rm', 'shared');
    const ls = await lab.ok('network', 'ls', '--host', '2', '--format', '{{.Name}}');
    expect(ls.split('\n')).not.toContain('shared');
  });

  it('leases the same addresses by DHCP from OVN on both hosts', async () => {
    expect(await dhcpLease(a1.namespace, 'eth0')).toMatchObject({ ip: ipOn(a1, 'ov') });
    expect(await dhcpLease(b1.namespace, 'eth0')).toMatchObject({ ip: ipOn(b1, 'ov') });
  });
});

describe('names across hosts through 127.0.0.11', () => {
  it('resolve on an internal overlay network too, where no query leaves the network', async () => {
    await overlay('quiet', '10.75.0.0/24', '--internal');
    const q1 = await run(1, 'quiet', 'q1');
    const q2 = await run(2, 'quiet', 'q2');
    // Each host reads the other's names from the central (within its poll interval).
    await waitUntil(async () => (await pings(1, 'q1', 'q2', 1)) > 0, 60);
    await waitUntil(async () => (await pings(2, 'q2', 'q1', 1)) > 0, 60);
    const answer = await lab.cli('lab', 'exec', 'q1', '--', 'getent', 'hosts', 'q2');
    expect(answer.stdout).toMatch(new RegExp(`^${ipOn(q2, 'quiet').replace(/\./g, '\\.')}\\s+q2`));
    expect(ipOn(q1, 'quiet')).not.toBe(ipOn(q2, 'quiet'));
  });
});

describe('what stays on one host', () => {
  it('keeps a bridge network of host 1 invisible on host 2', async () => {
    await lab.ok('network', 'create', 'local1');
    const ls = await lab.ok('network', 'ls', '--host', '2', '--format', '{{.Name}}');
    expect(ls.split('\n')).not.toContain('local1');
    const inspect = await lab.cli('network', 'inspect', '--host', '2', 'local1');
    expect(inspect.code).not.toBe(0);
    expect(inspect.stderr).toMatch(/network local1 not found/);
  });

  it('isolates two overlay networks from each other', async () => {
    await overlay('ov2', '10.78.0.0/24');
    const a2 = await run(1, 'ov2', 'a2');
    expect(await pings(2, 'b1', ipOn(a2, 'ov2'), 2)).toBe(0);
    await run(2, 'ov2', 'b2');
    expect(await pings(2, 'b2', ipOn(a2, 'ov2'))).toBeGreaterThan(0);
    expect(await pings(2, 'b2', ipOn(a1, 'ov'), 2)).toBe(0);
  });
});

describe("host 2's own uplink: published ports and egress", () => {
  const outside = new LabPaths({ dir: lab.dir, prefix: lab.prefix }).outsideNamespace;
  const servers: ChildProcess[] = [];
  let www = '';

  beforeAll(async () => {
    www = await mkdtemp(join(tmpdir(), 'arcanet-cluster-www-'));
    await writeFile(join(www, 'index.html'), 'hello from host 2\n');
  });

  afterAll(async () => {
    for (const server of servers) server.kill();
    await rm(www, { recursive: true, force: true });
  });

  /** `lab run --host 2 -p PORT:80` with httpd in it; the container and its binding. */
  async function web(network: string, name: string): Promise<[Container, PublishedPort]> {
    const port = await freePort();
    const c = await lab.json<Container & { ports: PublishedPort[] }>(
      ...['lab', 'run', '--host', '2', '--network', network, '-p', `${port}:80`, name],
    );
    servers.push(await startHttpd(c.namespace, ipOn(c, network), www));
    const [binding] = c.ports;
    expect(binding).toMatchObject({ hostPort: port, containerPort: 80, protocol: 'tcp' });
    return [c, binding as PublishedPort];
  }

  it('serves an overlay container of host 2 at its host port and, from outside, at the gateway chassis', async () => {
    const [, binding] = await web('ov', 'web2');
    // Host 2's listener forwards from host 2's own address on the external network.
    expect(await wget(undefined, `127.0.0.1:${binding.hostPort}`)).toBe('hello from host 2\n');
    // The network's load balancer is on its gateway chassis (host 1, which created it).
    expect(await wget(outside, binding.externalAddress)).toBe('hello from host 2\n');
  });

  it("forwards UDP through host 2's listener and from outside as well", async () => {
    const port = await freePort();
    const c = await lab.json<Container & { ports: PublishedPort[] }>(
      ...['lab', 'run', '--host', '2', '--network', 'ov', '-p', `${port}:9053/udp`, 'echo2'],
    );
    servers.push(await startUdpEcho(c.namespace, 9053));
    expect(await udpEcho(undefined, '127.0.0.1', port, 'hello-udp')).toBe('hello-udp');
    const [ip = '', external = ''] = (c.ports[0]?.externalAddress ?? '').split(':');
    expect(await udpEcho(outside, ip, Number(external), 'from-outside')).toBe('from-outside');
  });

  it('gives a bridge network of host 2 egress, upstream DNS and published ports through its own uplink', async () => {
    await lab.ok('network', 'create', '--host', '2', '--subnet', '10.74.0.0/24', 'local2');
    const [c, binding] = await web('local2', 'lweb2');
    // Host 2's range of the external network (198.51.100.128/29), not host 1's.
    expect(binding.externalAddress).toMatch(/^198\.51\.100\.(129|13[0-3]):\d+$/);
    expect(await pings(2, c.name, '198.51.100.1')).toBeGreaterThan(0);
    const lookup = await execOn(2, c.name, 'getent', 'hosts', 'www.example.com');
    expect(lookup.stdout).toMatch(/203\.0\.113\.80/);
    expect(await wget(undefined, `127.0.0.1:${binding.hostPort}`)).toBe('hello from host 2\n');
    expect(await wget(outside, binding.externalAddress)).toBe('hello from host 2\n');
  });

  it('refuses on host 1 a host port that host 2 publishes, naming host 2 and its container', async () => {
    const port = await freePort();
    await lab.ok('lab', 'run', '--host', '2', '--network', 'ov', '-p', `${port}:80`, 'hold2');
    const clash = await lab.cli('lab', 'run', '--network', 'ov', '-p', `${port}:80`, 'clash1');
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain(
      `Bind for 0.0.0.0:${port} failed: port is already allocated (host 2 of this lab publishes it for container hold2`,
    );
    const ps = await lab.json<Array<{ name: string }>>('lab', 'ps');
    expect(ps.map((c) => c.name)).not.toContain('clash1');
  });
});

describe('overlay networks routed to each other (arca-net.router)', () => {
  /** ovn-nbctl on the central (host 1's helper). */
  async function nbctl(...args: string[]): Promise<string> {
    const paths = new LabPaths({ dir: lab.dir, prefix: lab.prefix });
    const db = `unix:${join(paths.helperRun, 'ovnnb_db.sock')}`;
    const result = await runCommand(
      inNamespace(paths.helperNamespace, ['ovn-nbctl', `--db=${db}`, ...args]),
    );
    return result.stdout;
  }

  it('routes between networks naming one router, across hosts, with egress kept and others isolated', async () => {
    await overlay('ra', '10.82.0.0/24', '-o', 'arca-net.router=r1');
    // The second member joins from host 2 (its gateway chassis is host 2).
    await overlay('rb', '10.83.0.0/24', '--host', '2', '-o', 'arca-net.router=r1');
    const [rb] = await lab.json<Inspect[]>('network', 'inspect', 'rb');
    expect(rb?.Options['arca-net.router']).toBe('r1');
    const x = await run(1, 'ra', 'ra1');
    const y = await run(2, 'rb', 'rb1');
    // By address, both ways, across the Geneve tunnel: routed on the sending chassis.
    expect(await pings(1, 'ra1', ipOn(y, 'rb'))).toBeGreaterThan(0);
    expect(await pings(2, 'rb1', ipOn(x, 'ra'))).toBeGreaterThan(0);
    // A routed network keeps its egress through its gateway chassis (the host that
    // created it: host 1 for ra, host 2's own uplink for rb), from both hosts.
    const x2 = await run(2, 'ra', 'ra2');
    expect(await pings(1, 'ra1', '198.51.100.1')).toBeGreaterThan(0);
    expect(await pings(2, 'ra2', '198.51.100.1')).toBeGreaterThan(0);
    expect(await pings(2, 'rb1', '198.51.100.1')).toBeGreaterThan(0);
    expect(await pings(2, 'rb1', ipOn(x2, 'ra'))).toBeGreaterThan(0);
    // Networks without the option stay isolated from the routed ones.
    expect(await pings(2, 'rb1', ipOn(a1, 'ov'), 2)).toBe(0);
    expect(await pings(1, 'a1', ipOn(y, 'rb'), 2)).toBe(0);
    // A network of another router is not routed to r1's.
    await overlay('rc', '10.84.0.0/24', '-o', 'arca-net.router=r2');
    const z = await run(2, 'rc', 'rc1');
    expect(await pings(2, 'rc1', ipOn(x, 'ra'), 2)).toBe(0);
    expect(await pings(2, 'rc1', '198.51.100.1')).toBeGreaterThan(0);
    // Leaving: the other member's route to it goes with the network.
    await lab.ok('lab', 'rm', '--host', '2', 'rb1');
    await lab.ok('network', 'rm', 'rb');
    const routes = await nbctl(
      '--bare',
      '--columns=ip_prefix',
      'list',
      'Logical_Router_Static_Route',
    );
    expect(routes).not.toMatch(/10\.83\.0\.0\/24/);
    expect(await pings(1, 'ra1', '198.51.100.1')).toBeGreaterThan(0);
    await lab.ok('lab', 'rm', '--host', '2', z.name);
    await lab.ok('lab', 'rm', '--host', '2', x2.name);
    await lab.ok('network', 'rm', 'rc');
    const transit = await nbctl(
      '--bare',
      '--columns=name',
      'find',
      'Logical_Switch',
      'external_ids:"arca-net:role"=transit',
    );
    expect(
      transit
        .trim()
        .split('\n')
        .filter((l) => l !== ''),
    ).toHaveLength(1);
  }, 240_000);

  it('refuses a bad router name, a bridge network and an internal one (INVALID_OPTION)', async () => {
    const bad = await lab.cli(
      'network',
      'create',
      '-d',
      'overlay',
      '--subnet',
      '10.85.0.0/24',
      '-o',
      'arca-net.router=-x',
      'rx',
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/invalid arca-net\.router "-x"/);
    const bridge = await lab.cli('network', 'create', '-o', 'arca-net.router=r1', 'rx');
    expect(bridge.stderr).toMatch(/arca-net\.router is only supported on overlay networks/);
    const internal = await lab.cli(
      'network',
      'create',
      '-d',
      'overlay',
      '--internal',
      '--subnet',
      '10.85.0.0/24',
      '-o',
      'arca-net.router=r1',
      'rx',
    );
    expect(internal.stderr).toMatch(/arca-net\.router cannot be used on an internal network/);
    const ls = await lab.ok('network', 'ls', '--format', '{{.Name}}');
    expect(ls.split('\n')).not.toContain('rx');
  });
});

describe('addresses under concurrency', () => {
  it('gives 20 containers connecting at once on both hosts 20 distinct addresses', async () => {
    await overlay('busy', '10.79.0.0/24');
    const started = await Promise.all(
      Array.from({ length: 20 }, (_, i) => run((i % 2) + 1, 'busy', `n${i}`)),
    );
    const ips = started.map((c) => ipOn(c, 'busy'));
    expect(new Set(ips).size).toBe(20);
    for (const ip of ips) expect(ip).toMatch(/^10\.79\.0\.\d+$/);
  }, 300_000);
});

describe('a host that restarts', () => {
  it('finds the overlay networks created while it was down, and its containers answer again', async () => {
    const labPaths = new LabPaths({ dir: lab.dir, prefix: lab.prefix });
    const pid = await readPidfile(hostPaths(labPaths, 2).hostPidfile);
    expect(pid).toBeDefined();
    await stopProcess(pid as number, 15_000);
    await overlay('meanwhile', '10.81.0.0/24');
    await restartLabHost(labPaths, 2);
    const ls = await lab.ok('network', 'ls', '--host', '2', '--format', '{{.Name}} {{.Driver}}');
    expect(ls.split('\n')).toContain('meanwhile overlay');
    expect(await pings(2, 'b1', 'a1')).toBeGreaterThan(0);
    const late = await run(2, 'meanwhile', 'b5');
    expect(ipOn(late, 'meanwhile')).toMatch(/^10\.81\.0\.\d+$/);
  }, 180_000);
});

describe('a chassis that fails', () => {
  it('takes no other host down, and its host serves again once its ovn-controller is back', async () => {
    const paths = hostPaths(new LabPaths({ dir: lab.dir, prefix: lab.prefix }), 2);
    const a3 = await run(1, 'ov', 'a3');
    const pidfile = join(paths.helperRun, 'ovn-controller.pid');
    const pid = Number((await readFile(pidfile, 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    await waitUntil(async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    // Host 1 goes on: its containers talk to each other, and the central answers.
    expect(await pings(1, 'a1', ipOn(a3, 'ov'))).toBeGreaterThan(0);
    await overlay('late', '10.80.0.0/24');
    // The chassis comes back (startup.sh restarts what is not running) and binds new ports.
    await runCommand(inNamespace(paths.helperNamespace, [helperStartupScript, 'start']), {
      env: await labHelperEnv(new LabPaths({ dir: lab.dir, prefix: lab.prefix }), 2),
      timeoutMs: 120_000,
    });
    const b3 = await run(2, 'ov', 'b3');
    expect(await pings(2, 'b3', 'a1')).toBeGreaterThan(0);
    expect(await pings(1, 'a3', ipOn(b3, 'ov'))).toBeGreaterThan(0);
    expect(await pings(1, 'a1', ipOn(b1, 'ov'))).toBeGreaterThan(0);
    // The network created while it was down is there on host 2.
    const b4 = await run(2, 'late', 'b4');
    expect(ipOn(b4, 'late')).toMatch(/^10\.80\.0\.\d+$/);
  }, 300_000);
});

describe('a chassis that restarts while another chassis is dead', () => {
  it('becomes ready without waiting for the dead one, and its containers talk', async () => {
    const labPaths = new LabPaths({ dir: lab.dir, prefix: lab.prefix });
    // Host 2's helper dies entirely (SIGKILL: its chassis stays registered in the SB).
    const run2 = hostPaths(labPaths, 2).helperRun;
    const pidfiles = (await readdir(run2)).filter((f) => f.endsWith('.pid'));
    const order = (f: string) => (f === 'supervisor.pid' ? 0 : 1);
    const pids: number[] = [];
    for (const f of pidfiles.sort((a, b) => order(a) - order(b))) {
      const pid = Number((await readFile(join(run2, f), 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 0) continue;
      try {
        process.kill(pid, 'SIGKILL');
        pids.push(pid);
      } catch {
        // already gone
      }
    }
    await waitUntil(async () => pids.every((pid) => !isAlive(pid)));
    // Host 1's ovn-controller restarts; `startup.sh start` returns once this chassis is ready.
    const pidfile = join(labPaths.helperRun, 'ovn-controller.pid');
    const old = Number((await readFile(pidfile, 'utf8')).trim());
    process.kill(old, 'SIGKILL');
    await waitUntil(async () => !isAlive(old));
    const started = await tryCommand(
      inNamespace(labPaths.helperNamespace, [helperStartupScript, 'start']),
      {
        env: await labHelperEnv(labPaths, 1),
        timeoutMs: 120_000,
      },
    );
    expect(started.stderr).toMatch(/OVN pipeline ready/);
    expect(started.code).toBe(0);
    // Host 1 binds new ports and its containers talk.
    await run(1, 'ov', 'a9');
    expect(await pings(1, 'a9', ipOn(a1, 'ov'))).toBeGreaterThan(0);
    expect(await pings(1, 'a1', 'a9')).toBeGreaterThan(0);
  }, 240_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 100 ms for up to `seconds` (default 30). */
async function waitUntil(check: () => Promise<boolean>, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${seconds} s`);
}
