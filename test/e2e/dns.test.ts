/**
 * DNS as a Docker user meets it, on the lab with real tools: dig (UDP with
 * and without EDNS, TCP), getent, through the embedded resolver 127.0.0.11 of
 * the container namespaces, with the lab's fake upstream (203.0.113.53 in
 * `<prefix>-upstream`) behind the outside world. Every lookup runs with
 * retries off and must answer far below any resolver timeout (5 s): a
 * resolver that ever waits fails here, whatever the machine's speed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DigOptions,
  type DigResult,
  dig,
  LabClient,
  LabPaths,
  tryCommand,
} from '../../packages/lab/dist/index.js';
import { LabHarness } from './harness.js';

const lab = new LabHarness('dns');
/** A bound on behaviour, not a benchmark: a waiting resolver takes ≥ 1.5 s (our deadline) or 5 s. */
const FAST_MS = 1000;

function api(): LabClient {
  return new LabClient(new LabPaths({ dir: lab.dir, prefix: lab.prefix }).hostSocket);
}

interface PsRow {
  name: string;
  namespace: string;
  attachments: { networkName: string; ip: string }[];
}

async function namespaceOf(name: string): Promise<string> {
  const rows = await lab.json<PsRow[]>('lab', 'ps');
  const row = rows.find((r) => r.name === name);
  if (!row) throw new Error(`no container ${name}`);
  return row.namespace;
}

async function ipOf(name: string, network: string): Promise<string> {
  const rows = await lab.json<PsRow[]>('lab', 'ps');
  const ip = rows
    .find((r) => r.name === name)
    ?.attachments.find((a) => a.networkName === network)?.ip;
  if (!ip) throw new Error(`${name} has no address on ${network}`);
  return ip;
}

/** dig from a container, asserting that the answer came at once. */
async function fastDig(from: string, name: string, options: DigOptions = {}): Promise<DigResult> {
  const result = await dig(await namespaceOf(from), name, options);
  expect(result.status, result.output).not.toBe('TIMEOUT');
  expect(result.timeMs, result.output).toBeLessThan(FAST_MS);
  return result;
}

/** `getent hosts` and `getent ahosts` from a container: `name` resolves to `ip`, at once. */
async function fastGetent(from: string, name: string, ip: string): Promise<void> {
  const ns = await namespaceOf(from);
  for (const db of ['hosts', 'ahosts']) {
    // Timed inside the namespace, so that spawning `ip netns exec` on a busy machine does not count.
    const script = `s=$(date +%s%N); getent ${db} ${name}; r=$?; e=$(date +%s%N); echo "ms=$(((e-s)/1000000))"; exit $r`;
    const result = await tryCommand(['ip', 'netns', 'exec', ns, 'sh', '-c', script]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(ip);
    expect(Number(/ms=(\d+)/.exec(result.stdout)?.[1]), result.stdout).toBeLessThan(FAST_MS);
  }
}

beforeAll(async () => {
  await lab.ok('lab', 'up', '--quiet');
  await lab.ok('network', 'create', '--subnet', '172.18.0.0/16', 'front');
  await lab.ok('network', 'create', '--internal', 'back');
  // A network whose upstream is a port where nothing listens (the CLI's -o is another change).
  await api().createNetwork({
    name: 'deadend',
    options: { 'arca-net.dns.upstreams': '203.0.113.53:5300' },
  });
  await lab.ok('lab', 'run', 'api', '--network', 'front');
  await lab.ok('lab', 'run', 'web', '--network', 'front');
  await lab.ok('lab', 'run', 'lonely', '--network', 'deadend');
}, 180_000);

afterAll(async () => {
  await lab.down();
});

describe('the embedded resolver 127.0.0.11', () => {
  it('answers A of a peer with and without EDNS, over UDP and TCP, at once', async () => {
    const ip = await ipOf('api', 'front');
    for (const options of [{}, { edns: false }, { tcp: true }, { tcp: true, edns: false }]) {
      const r = await fastDig('web', 'api', options);
      expect(r.status).toBe('NOERROR');
      expect(r.answers).toEqual([ip]);
      expect(r.edns).toBe(options.edns !== false);
    }
  });

  it('answers AAAA of a peer as NODATA at once', async () => {
    const r = await fastDig('web', 'api', { type: 'AAAA' });
    expect(r.status).toBe('NOERROR');
    expect(r.answers).toEqual([]);
  });

  it('answers name.network as Docker does', async () => {
    const r = await fastDig('web', 'api.front');
    expect(r.answers).toEqual([await ipOf('api', 'front')]);
  });

  it("answers the PTR of a peer's address as name.network.", async () => {
    const r = await fastDig('web', await ipOf('api', 'front'), { type: 'PTR' });
    expect(r.status).toBe('NOERROR');
    expect(r.answers).toEqual(['api.front.']);
  });

  it('forwards unknown names to the upstream: known there, and NXDOMAIN', async () => {
    const known = await fastDig('web', 'www.example.com');
    expect(known.answers).toEqual(['203.0.113.80']);
    const unknown = await fastDig('web', 'nowhere.example', { tcp: true });
    expect(unknown.status).toBe('NXDOMAIN');
  });

  it('answers SERVFAIL at once when the upstream is unreachable', async () => {
    const r = await fastDig('lonely', 'www.example.com');
    expect(r.status).toBe('SERVFAIL');
  });

  it('getent hosts and ahosts answer at once through the system resolver', async () => {
    await fastGetent('web', 'api', await ipOf('api', 'front'));
  });
});

/** Writes the DHCP lease's DNS server into the namespace's resolv.conf, as a DHCP guest's script does. */
const UDHCPC_SCRIPT = `#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
: > /etc/resolv.conf
for s in $dns; do echo "nameserver $s" >> /etc/resolv.conf; done
echo "lease dns=$dns router=$router"
`;

describe('a guest that takes its resolver from DHCP (udhcpc)', () => {
  let server = '';

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcanet-dns-'));
    const script = join(dir, 'udhcpc.sh');
    await writeFile(script, UDHCPC_SCRIPT, { mode: 0o755 });
    await lab.ok('lab', 'run', 'guest', '--network', 'front');
    await lab.ok('lab', 'run', 'iguest', '--network', 'back');
    for (const guest of ['guest', 'iguest']) {
      const ns = await namespaceOf(guest);
      const argv = ['busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '5', '-T', '1'];
      const result = await tryCommand(['ip', 'netns', 'exec', ns, ...argv, '-s', script]);
      const dns = /lease dns=(\S+)/.exec(result.stdout)?.[1];
      if (!dns)
        throw new Error(
          `no DNS server in the lease of ${guest}: ${result.stdout} ${result.stderr}`,
        );
      if (guest === 'guest') server = dns;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("names the network's own resolver (its highest host address), not the gateway", () => {
    expect(server).toBe('172.18.255.254');
  });

  it('answers A, AAAA, PTR and name.network, with and without EDNS, over UDP and TCP, at once', async () => {
    const ip = await ipOf('api', 'front');
    for (const options of [{}, { edns: false }, { tcp: true }]) {
      expect((await fastDig('guest', 'api', options)).answers).toEqual([ip]);
    }
    const aaaa = await fastDig('guest', 'api', { type: 'AAAA' });
    expect([aaaa.status, aaaa.answers]).toEqual(['NOERROR', []]);
    expect((await fastDig('guest', 'api.front')).answers).toEqual([ip]);
    expect((await fastDig('guest', ip, { type: 'PTR' })).answers).toEqual(['api.front.']);
  });

  it('forwards unknown names to the upstream through the network', async () => {
    expect((await fastDig('guest', 'www.example.com')).answers).toEqual(['203.0.113.80']);
    expect((await fastDig('guest', 'nowhere.example', { tcp: true })).status).toBe('NXDOMAIN');
  });

  it('answers SERVFAIL at once on an internal network, which has no way out', async () => {
    expect((await fastDig('iguest', 'www.example.com')).status).toBe('SERVFAIL');
  });

  it('getent hosts and ahosts answer at once', async () => {
    await fastGetent('guest', 'api', await ipOf('api', 'front'));
  });

  it('both resolvers survive malformed queries and keep answering', async () => {
    const ns = await namespaceOf('guest');
    const ip = await ipOf('api', 'front');
    for (const target of ['127.0.0.11', server]) {
      const junk = [
        `printf 'junk' > /dev/udp/${target}/53`,
        `head -c 60 /dev/urandom > /dev/udp/${target}/53`,
        `printf '\\x12\\x34\\x01\\x00\\x00\\x01\\xff\\xff\\xff\\xff\\xff\\xff\\xff' > /dev/udp/${target}/53`,
        `printf '\\x00\\x05junk!' > /dev/tcp/${target}/53`,
      ];
      await tryCommand(['ip', 'netns', 'exec', ns, 'bash', '-c', junk.join('; ')]);
      expect((await fastDig('guest', 'api', { server: target })).answers).toEqual([ip]);
    }
  });

  it('drops names of removed containers at once', async () => {
    await lab.ok('lab', 'run', 'tmp2', '--network', 'front');
    expect((await fastDig('guest', 'tmp2')).status).toBe('NOERROR');
    await lab.ok('lab', 'rm', 'tmp2');
    const r = await fastDig('guest', 'tmp2');
    expect(r.answers).toEqual([]);
  });
});

describe('names of removed containers', () => {
  it('vanish from every peer as soon as lab rm returns', async () => {
    await lab.ok('lab', 'run', 'tmp1', '--network', 'front');
    expect((await fastDig('web', 'tmp1')).status).toBe('NOERROR');
    await lab.ok('lab', 'rm', 'tmp1');
    for (const peer of ['web', 'api']) {
      const r = await fastDig(peer, 'tmp1');
      expect(r.answers).toEqual([]);
      expect(r.status).toBe('NXDOMAIN');
    }
  });
});

describe('bad input', () => {
  it('lab up --dns with an unparsable address fails with one clear line', async () => {
    const result = await lab.cli('lab', 'up', '--dns', 'not-an-ip');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('invalid DNS server "not-an-ip"');
  });

  it('a network whose upstream option is unparsable is refused and not made', async () => {
    const error = await api()
      .createNetwork({ name: 'bad', options: { 'arca-net.dns.upstreams': 'x:y' } })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(error?.code).toBe('INVALID_OPTION');
    expect(error?.message).toContain('arca-net.dns.upstreams');
    expect(await lab.ok('network', 'ls')).not.toContain('bad');
  });
});

describe('network rm', () => {
  it("removes the network's resolver from the helper: port, policy rule, listener", async () => {
    const helper = `${lab.prefix}-helper`;
    const state = async () => {
      const links = await tryCommand(['ip', '-n', helper, '-br', 'addr']);
      const rules = await tryCommand(['ip', '-n', helper, 'rule']);
      return `${links.stdout}\n${rules.stdout}`;
    };
    await lab.ok('network', 'create', '--subnet', '10.77.0.0/24', 'gone');
    expect(await state()).toContain('10.77.0.254');
    await lab.ok('network', 'rm', 'gone');
    expect(await state()).not.toContain('10.77.0.254');
  });
});

describe('lab down', () => {
  it('removes the fake upstream with everything else', async () => {
    expect(await lab.namespaces()).toContain(`${lab.prefix}-upstream`);
    expect((await lab.down()).code).toBe(0);
    expect(await lab.namespaces()).toEqual([]);
    expect(await lab.processes()).toEqual([]);
  });
});
