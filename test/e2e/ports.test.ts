/**
 * Published ports (`lab run -p`, `lab port`) on a real lab: TCP (busybox
 * httpd and wget) and UDP (an echo) reached from the host's loopback and
 * from the lab's outside namespace at the network's external address;
 * released on rm and disconnect; Docker's errors for a clash, a port another
 * process holds, an internal network and malformed specs, with nothing left
 * behind (no container, no listener, no load balancer). Host ports are
 * taken from the kernel's free ones, since other labs share this host.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inNamespace,
  type LabContainer,
  LabPaths,
  runCommand,
  startUdpEcho,
  tryCommand,
  udpEcho,
} from '../../packages/lab/dist/index.js';
import { freePort } from '../free-port.js';
import { LabHarness } from './harness.js';

const lab = new LabHarness('ports');
const outside = new LabPaths({ dir: lab.dir, prefix: lab.prefix }).outsideNamespace;
const helperNs = new LabPaths({ dir: lab.dir, prefix: lab.prefix }).helperNamespace;
const children: ChildProcess[] = [];
let www = '';

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function container(name: string): Promise<LabContainer | undefined> {
  return (await lab.json<LabContainer[]>('lab', 'ps')).find((c) => c.name === name);
}

/** `busybox wget` of http://target/ from `ns` (the host when undefined). */
async function wget(ns: string | undefined, target: string): Promise<string | undefined> {
  const r = await tryCommand(inNamespace(ns, ['busybox', 'wget', '-qO-', `http://${target}/`]), {
    timeoutMs: 15_000,
  });
  return r.code === 0 ? r.stdout : undefined;
}

/** busybox httpd serving `www` on port 80 in the container's namespace (stopped in afterAll). */
async function startHttpd(ns: string, ip: string): Promise<void> {
  const [file, ...args] = inNamespace(ns, ['busybox', 'httpd', '-f', '-p', '80', '-h', www]);
  const child = spawn(file ?? 'ip', args, { stdio: 'ignore' });
  children.push(child);
  // Ready when its port 80 answers on eth0 (bounded poll, not a sleep).
  for (let i = 0; i < 100; i++) {
    const r = await tryCommand(inNamespace(ns, ['busybox', 'wget', '-qO-', `http://${ip}/`]), {
      timeoutMs: 5000,
    });
    if (r.code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('httpd did not start');
}

/** Load balancers in the helper's NB database. */
async function loadBalancers(): Promise<number> {
  const db = `unix:${new LabPaths({ dir: lab.dir, prefix: lab.prefix }).helperRun}/ovnnb_db.sock`;
  const out = await runCommand(
    inNamespace(helperNs, [
      'ovn-nbctl',
      `--db=${db}`,
      '--bare',
      '--columns=_uuid',
      'list',
      'Load_Balancer',
    ]),
  );
  return out.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

let tcpPort = 0;
let udpPort = 0;
let loopPort = 0;
let web: LabContainer;

beforeAll(async () => {
  www = await mkdtemp(join(tmpdir(), 'arcanet-ports-www-'));
  await writeFile(join(www, 'index.html'), 'hello from web\n');
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  [tcpPort, udpPort] = [await freePort(), await freePort()];
  await lab.ok(
    'lab',
    'run',
    'web',
    '-p',
    `${tcpPort}:80`,
    '-p',
    `${udpPort}:9053/udp`,
    '-p',
    '127.0.0.1::80',
  );
  web = (await container('web')) as LabContainer;
  loopPort = web.ports.find((p) => p.hostIp === '127.0.0.1')?.hostPort ?? 0;
  await startHttpd(web.namespace, web.attachments[0]?.ip ?? '');
  children.push(await startUdpEcho(web.namespace, 9053));
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill();
  await lab.down();
  await rm(www, { recursive: true, force: true });
}, 120_000);

describe('published ports', () => {
  it('lab ps, inspect and lab port show the bindings as Docker does', async () => {
    const ps = await lab.ok('lab', 'ps');
    expect(ps).toContain(`0.0.0.0:${tcpPort}->80/tcp`);
    expect(ps).toContain(`0.0.0.0:${udpPort}->9053/udp`);
    expect(loopPort).toBeGreaterThan(0);
    expect(
      web.attachments[0]?.ports.map(
        (p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`,
      ),
    ).toEqual([
      `0.0.0.0:${tcpPort}->80/tcp`,
      `0.0.0.0:${udpPort}->9053/udp`,
      `127.0.0.1:${loopPort}->80/tcp`,
    ]);
    expect(await lab.ok('lab', 'port', 'web')).toBe(
      `80/tcp -> 0.0.0.0:${tcpPort}\n9053/udp -> 0.0.0.0:${udpPort}\n80/tcp -> 127.0.0.1:${loopPort}\n`,
    );
    expect(await lab.ok('lab', 'port', 'web', '80')).toBe(
      `0.0.0.0:${tcpPort}\n127.0.0.1:${loopPort}\n`,
    );
    expect(await lab.ok('lab', 'port', 'web', '9053/udp')).toBe(`0.0.0.0:${udpPort}\n`);
    const none = await lab.cli('lab', 'port', 'web', '81');
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("Error: No public port '81/tcp' published for web\n");
  });

  it('TCP reaches the container from the host loopback and from the outside namespace', async () => {
    expect(await wget(undefined, `127.0.0.1:${tcpPort}`)).toBe('hello from web\n');
    expect(await wget(undefined, `127.0.0.1:${loopPort}`)).toBe('hello from web\n');
    const external = web.ports.find((p) => p.hostPort === tcpPort)?.externalAddress ?? '';
    expect(external).toMatch(/^198\.51\.100\.\d+:\d+$/);
    expect(await wget(outside, external)).toBe('hello from web\n');
  });

  it("a client's half-close (request, then FIN) still gets the whole answer", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = netConnect({ host: '127.0.0.1', port: tcpPort }, () => {
        socket.end('GET / HTTP/1.0\r\n\r\n');
      });
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      socket.once('close', () => resolve(text));
      socket.once('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.[01] 200/);
    expect(answer).toContain('hello from web');
  });

  it("the helper's forwarder (vsock 9998) serves published ports only: anything else is closed unanswered", async () => {
    const socketPath = join(
      new LabPaths({ dir: lab.dir, prefix: lab.prefix }).helperVmDir,
      '9998.sock',
    );
    const networkId = web.ports[0]?.networkId ?? '';
    const ask = (header: string) =>
      new Promise<string>((resolve, reject) => {
        let text = '';
        const socket = netConnect(socketPath, () => socket.write(header));
        socket.setTimeout(10_000, () => socket.destroy(new Error('not closed in 10 s')));
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        socket.once('close', () => resolve(text));
        socket.once('error', reject);
      });
    // A published port answers (HTTP through the load balancer) …
    expect(await ask(`tcp ${networkId} ${tcpPort}\nGET / HTTP/1.0\r\n\r\n`)).toContain(
      'hello from web',
    );
    // … a port that is not published, or another network, does not.
    const unpublished = [1, 2, 3]
      .map((d) => tcpPort + d)
      .find((p) => !web.ports.some((b) => b.hostPort === p));
    expect(await ask(`tcp ${networkId} ${unpublished}\nGET / HTTP/1.0\r\n\r\n`)).toBe('');
    expect(await ask(`tcp ${'0'.repeat(64)} ${tcpPort}\nGET / HTTP/1.0\r\n\r\n`)).toBe('');
  });

  it('UDP reaches the container from the host loopback and from the outside namespace', async () => {
    expect(await udpEcho(undefined, '127.0.0.1', udpPort, 'hello-udp')).toBe('hello-udp');
    const external = web.ports.find((p) => p.hostPort === udpPort)?.externalAddress ?? '';
    const [ip = '', port = ''] = external.split(':');
    expect(await udpEcho(outside, ip, Number(port), 'from-outside')).toBe('from-outside');
  });

  it("a clash is Docker's 'port is already allocated', and nothing of the new container stays", async () => {
    const lbs = await loadBalancers();
    const clash = await lab.cli('lab', 'run', 'web2', '-p', `${tcpPort}:80`);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toBe(
      `Error response from daemon: Bind for 0.0.0.0:${tcpPort} failed: port is already allocated\n`,
    );
    expect(await container('web2')).toBeUndefined();
    expect(await loadBalancers()).toBe(lbs);
    // The first binding is untouched.
    expect(await wget(undefined, `127.0.0.1:${tcpPort}`)).toBe('hello from web\n');
  });

  it('a host port that another process holds is refused, and nothing stays', async () => {
    const [first, port] = [await freePort(), await freePort()];
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '0.0.0.0', resolve));
    try {
      const lbs = await loadBalancers();
      const held = await lab.cli('lab', 'run', 'web3', '-p', `${first}:80`, '-p', `${port}:80`);
      expect(held.code).toBe(1);
      expect(held.stderr).toBe(
        `Error response from daemon: Error starting userland proxy: listen tcp4 0.0.0.0:${port}: bind: address already in use\n`,
      );
      expect(await container('web3')).toBeUndefined();
      expect(await loadBalancers()).toBe(lbs);
      expect(await accepts(first)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('ports on an internal network are refused, and nothing stays', async () => {
    await lab.ok('network', 'create', '--internal', 'priv');
    const port = await freePort();
    const r = await lab.cli('lab', 'run', '--network', 'priv', 'inner', '-p', `${port}:80`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error response from daemon: network priv is internal: ports cannot be published on an internal network\n',
    );
    expect(await container('inner')).toBeUndefined();
    expect(await accepts(port)).toBe(false);
  });

  it("malformed specs are refused in Docker's words before anything is made", async () => {
    const cases: [string, string][] = [
      ['8080:x', 'Invalid containerPort: x'],
      ['8080:0', 'Invalid containerPort: 0'],
      ['8080:70000', 'Invalid containerPort: 70000'],
      ['x:80', 'Invalid hostPort: x'],
      [
        '9000-9002:80-81',
        'Invalid ranges specified for container and host Ports: 80-81 and 9000-9002',
      ],
      ['8080:80/sctp', 'Invalid proto: sctp'],
    ];
    for (const [spec, words] of cases) {
      const r = await lab.cli('lab', 'run', 'bad', '-p', spec);
      expect(r.code, spec).toBe(1);
      expect(r.stderr, spec).toBe(`Error response from daemon: ${words}\n`);
    }
    expect(await container('bad')).toBeUndefined();
  });

  it('ports are released on disconnect and on rm', async () => {
    const [a, b] = [await freePort(), await freePort()];
    await lab.ok('lab', 'run', 'tmp1', '-p', `${a}:80`);
    await lab.ok('lab', 'run', 'tmp2', '-p', `${b}:80`);
    expect(await accepts(a)).toBe(true);
    expect(await accepts(b)).toBe(true);
    const lbs = await loadBalancers();
    await lab.ok('network', 'disconnect', 'bridge', 'tmp1');
    expect(await accepts(a)).toBe(false);
    expect(await lab.ok('lab', 'port', 'tmp1')).toBe('');
    await lab.ok('lab', 'rm', 'tmp2');
    expect(await accepts(b)).toBe(false);
    expect(await loadBalancers()).toBe(lbs - 2);
    // The ports can be published again at once.
    await lab.ok('lab', 'run', 'tmp3', '-p', `${b}:80`);
    expect(await accepts(b)).toBe(true);
    await lab.ok('lab', 'rm', 'tmp3', 'tmp1');
  });
});
