/**
 * DNS as a Docker user meets it, on the lab with real tools: dig (UDP with
 * and without EDNS, TCP), getent, through the embedded resolver 127.0.0.11 of
 * the container namespaces, with the lab's fake upstream (203.0.113.53 in
 * `<prefix>-upstream`) behind the outside world. Every lookup runs with
 * retries off and must answer far below any resolver timeout (5 s): a
 * resolver that ever waits fails here, whatever the machine's speed.
 */
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

beforeAll(async () => {
  await lab.ok('lab', 'up', '--quiet');
  await lab.ok('network', 'create', 'front');
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
    const ns = await namespaceOf('web');
    for (const db of ['hosts', 'ahosts']) {
      // Timed inside the namespace, so that spawning `ip netns exec` on a busy machine does not count.
      const script = `s=$(date +%s%N); getent ${db} api; r=$?; e=$(date +%s%N); echo "ms=$(((e-s)/1000000))"; exit $r`;
      const result = await tryCommand(['ip', 'netns', 'exec', ns, 'sh', '-c', script]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(await ipOf('api', 'front'));
      expect(Number(/ms=(\d+)/.exec(result.stdout)?.[1]), result.stdout).toBeLessThan(FAST_MS);
    }
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
