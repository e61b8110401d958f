/**
 * Docker conformance of the lab's docker.sock: every scenario of
 * scenarios.ts runs through Docker's own CLI (or as a raw Engine API
 * request) against a real dockerd (Debian's docker.io, in a network
 * namespace of its own, test/ovs-docker/dockerd.ts, with iptables on there and
 * `--dns` at the lab's fake upstream in an outside namespace, outside.ts) and
 * against a lab, and
 * the outputs (exit code, stdout, stderr; or status and body) are compared
 * after ids and times are normalised. A scenario is "same", or shows one
 * documented difference (known.ts, docs/docker-compat.md) and nothing else.
 * With DOCKER_API_RESULTS_MD set (`make conformance`), writes that report
 * (test/conformance/results.md). Needs root.
 */

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NetworkNamespace,
  processAlive,
  readPidfile,
  runCommand,
  tryCommand,
  uniqueSuffix,
} from '../../packages/lab/dist/index.js';
import { LabHarness } from '../e2e/harness.js';
import { freePort } from '../free-port.js';
import { BUSYBOX_IMAGE, PrivateDockerd } from '../ovs-docker/dockerd.js';
import { KNOWN, knownDifference } from './known.js';
import { normalize } from './normalize.js';
import { OutsideWorlds, UPSTREAM_ADDRESS } from './outside.js';
import { type HttpRequest, type Scenario, scenarios } from './scenarios.js';

type Side = 'docker' | 'lab';

const sfx = uniqueSuffix();
const lab = new LabHarness('dockerapi');
const dir = `/tmp/arcanet-dockerapi-${sfx}-${process.pid}`;
const configDir = join(dir, 'cli-config');
let ns: NetworkNamespace | undefined;
let outsideNs: NetworkNamespace | undefined;
let dockerd: PrivateDockerd | undefined;
const worlds = new OutsideWorlds(dir);
let port = 0;
let udpPort = 0;

const socketOf = (side: Side): string =>
  side === 'docker' ? (dockerd as PrivateDockerd).socket : `${lab.dir}/docker.sock`;

/** Docker's CLI against one side, with a config directory of its own. */
function docker(side: Side, args: readonly string[]) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_CONFIG: configDir,
    DOCKER_CLI_HINTS: 'false',
  };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return tryCommand(['docker', '-H', `unix://${socketOf(side)}`, ...args], {
    env,
    timeoutMs: 60_000,
  });
}

/** A raw request on one side's socket: `STATUS BODY`. */
function http(side: Side, r: HttpRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socketOf(side),
        method: r.method,
        path: r.path,
        headers: { 'Content-Type': 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve(`${response.statusCode} ${Buffer.concat(chunks).toString('utf8').trim()}`),
        );
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

/**
 * An id prefix that exactly two of the side's networks share: networks
 * `amb<N>` are made until two ids begin alike (the id is the engine's choice).
 */
async function ambiguousPrefix(side: Side): Promise<string> {
  for (let made = 0; made < 40; made++) {
    const ids = (await docker(side, ['network', 'ls', '-q', '--no-trunc'])).stdout
      .split('\n')
      .filter(Boolean);
    for (const a of ids) {
      for (const b of ids) {
        if (a === b || a[0] !== b[0]) continue;
        let length = 0;
        while (a[length] === b[length]) length++;
        const prefix = a.slice(0, length);
        if (ids.filter((id) => id.startsWith(prefix)).length === 2) return prefix;
      }
    }
    await docker(side, ['network', 'create', `amb${made}`]);
  }
  throw new Error(`no ambiguous id prefix on ${side}`);
}

/**
 * `{id:NAME}` / `{prefix:NAME}` replaced by that side's id of network NAME,
 * `{short:NAME}` by a container's 12-digit id, `{ambiguous}` by
 * {@link ambiguousPrefix}; `prefixes` collects the id prefixes put in.
 */
async function resolveArgs(
  side: Side,
  args: readonly string[],
  prefixes: string[],
): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    const short = /^\{short:(.+)\}$/.exec(arg);
    if (short) {
      const id = (await docker(side, ['inspect', '--format', '{{.Id}}', short[1] ?? ''])).stdout;
      out.push(id.trim().slice(0, 12));
      continue;
    }
    if (arg.includes('{ambiguous}')) {
      const prefix = await ambiguousPrefix(side);
      prefixes.push(prefix);
      out.push(arg.replace('{ambiguous}', prefix));
      continue;
    }
    const m = /^\{(id|prefix):(.+)\}$/.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const id = (
      await docker(side, ['network', 'inspect', '--format', '{{.Id}}', m[2] ?? ''])
    ).stdout.trim();
    if (m[1] === 'prefix') prefixes.push(id.slice(0, 6));
    out.push(m[1] === 'id' ? id : id.slice(0, 6));
  }
  return out;
}

/** An id prefix the scenario used, where Docker's messages quote it: "network PREFIX …". */
const hidePrefixes = (text: string, prefixes: readonly string[]): string =>
  prefixes.reduce((t, p) => t.replaceAll(`network ${p} `, 'network <PREFIX> '), text);

/** {@link normalize}, and the random host ports (the same on both sides) as `<PORT>`, for a stable results.md. */
const normalizeRun = (text: string): string =>
  normalize(text).replaceAll(`:${port}`, ':<PORT>').replaceAll(`:${udpPort}`, ':<UDP-PORT>');

/** The UDP echo server (udp-echo.c), at the same path in Docker's image and on the lab's host. */
const udpEcho = join(dir, 'bin', 'udp-echo');

/** `{port}` and `{udpPort}`: the published host ports; `{udpEcho}`: {@link udpEcho}. */
const withPorts = (args: readonly string[]): string[] =>
  args.map((a) =>
    a
      .replaceAll('{port}', String(port))
      .replaceAll('{udpPort}', String(udpPort))
      .replaceAll('{udpEcho}', udpEcho),
  );

async function runOn(side: Side, s: Scenario): Promise<string> {
  const prefixes: string[] = [];
  if (s.http) {
    const [path = ''] = await resolveArgs(side, [s.http.path], prefixes);
    return normalizeRun(hidePrefixes(await http(side, { ...s.http, path }), prefixes));
  }
  if (s.lifecycle) {
    // Only the exit code: Docker's CLI and arca-net's print different things here.
    const r =
      side === 'docker'
        ? await docker(side, withPorts(s.lifecycle.docker))
        : await lab.cli(...withPorts(s.lifecycle.lab));
    return `exit ${r.code}`;
  }
  if (s.host) {
    const argv = withPorts(s.host);
    const inEngine = ['nsenter', `--net=/var/run/netns/${ns?.name}`, ...argv];
    const r = await tryCommand(side === 'docker' ? inEngine : argv, { timeoutMs: 30_000 });
    return normalizeRun(
      `exit ${r.code}\nstdout:\n${r.stdout.trimEnd()}\nstderr:\n${r.stderr.trimEnd()}`,
    );
  }
  const args = await resolveArgs(side, withPorts(s.exec?.command ?? s.docker ?? []), prefixes);
  const container = s.exec?.container ?? '';
  const r = s.exec
    ? side === 'docker'
      ? await docker(side, ['exec', container, ...args])
      : await lab.exec(container, ...args)
    : await docker(side, args);
  const parts = [`exit ${r.code}`];
  if (r.stdout.trim() !== '') parts.push(`stdout:\n${r.stdout.trimEnd()}`);
  if (r.stderr.trim() !== '') parts.push(`stderr:\n${r.stderr.trimEnd()}`);
  return normalizeRun(hidePrefixes(parts.join('\n'), prefixes));
}

interface Outcome {
  scenario: Scenario;
  docker: string;
  lab: string;
  verdict: 'same' | 'known' | 'different';
  /** Wall time of each side's command (`docker exec`/`lab exec` included), for DNS answer times. */
  dockerMs: number;
  labMs: number;
}
const outcomes: Outcome[] = [];

beforeAll(async () => {
  mkdirSync(configDir, { recursive: true });
  port = await freePort();
  udpPort = await freePort();
  ns = await NetworkNamespace.create(`dapi${sfx}`);
  outsideNs = await NetworkNamespace.create(`dapo${sfx}`);
  // Its outside world (default route, fake upstream, echo server) as the lab's.
  await worlds.forEngine(ns.name, outsideNs.name);
  // Its own bridge (Docker's default 172.17.0.0/16) and its iptables rules, inside its own
  // namespace; the fake upstream as its DNS.
  dockerd = new PrivateDockerd(join(dir, 'engine'), ns.name, `dapi${sfx}`, {
    networkArgs: [],
    iptables: true,
    dns: [UPSTREAM_ADDRESS],
  });
  await dockerd.start();
  mkdirSync(dirname(udpEcho), { recursive: true });
  await runCommand([
    ...['cc', '-static', '-O2', '-o', udpEcho],
    fileURLToPath(new URL('./udp-echo.c', import.meta.url)),
  ]);
  await dockerd.importBusybox('/bin/busybox', { [udpEcho]: udpEcho });
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  expect(up.stdout).toContain(`export DOCKER_HOST=unix://${lab.dir}/docker.sock`);
  const labOutside = `${lab.prefix}-outside`;
  await worlds.echoServer(labOutside, labOutside);
  const publish = `0.0.0.0:${port}:80`;
  await dockerd.docker([
    'run',
    '-d',
    '--name',
    'c1',
    '-p',
    publish,
    BUSYBOX_IMAGE,
    'sleep',
    '1000000',
  ]);
  await dockerd.docker(['run', '-d', '--name', 'c2', BUSYBOX_IMAGE, 'sleep', '1000000']);
  await lab.ok('lab', 'run', 'c1', '-p', publish);
  await lab.ok('lab', 'run', 'c2');
});

afterAll(async () => {
  writeResults();
  await worlds.stop();
  await dockerd?.destroy().catch(() => undefined);
  await ns?.delete().catch(() => undefined);
  await outsideNs?.delete().catch(() => undefined);
  await lab.down().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('Docker CLI and Engine API: a real dockerd and the lab, side by side', () => {
  for (const scenario of scenarios()) {
    it(scenario.name, async () => {
      const t0 = performance.now();
      const d = await runOn('docker', scenario);
      const t1 = performance.now();
      const l = await runOn('lab', scenario);
      const t2 = performance.now();
      const outcome: Outcome = {
        scenario,
        docker: d,
        lab: l,
        verdict: 'same',
        dockerMs: Math.round(t1 - t0),
        labMs: Math.round(t2 - t1),
      };
      outcomes.push(outcome);
      if (scenario.expect !== undefined) expect(d).toContain(scenario.expect);
      if (scenario.known === undefined) {
        if (d !== l) outcome.verdict = 'different';
        expect(l).toBe(d);
        return;
      }
      const known = knownDifference(scenario.known);
      outcome.verdict =
        d === l ? 'same' : known.normalize(d) === known.normalize(l) ? 'known' : 'different';
      // A documented difference that no longer shows is stale: remove it from known.ts and the docs.
      expect(l, `known difference ${known.id} no longer shows`).not.toBe(d);
      expect(known.normalize(l)).toBe(known.normalize(d));
    });
  }

  it("dockerd's iptables rules live in its own namespace", async () => {
    const nat = await runCommand([
      ...['nsenter', `--net=/var/run/netns/${ns?.name}`],
      ...['iptables', '-t', 'nat', '-S', 'POSTROUTING'],
    ]);
    expect(nat.stdout).toContain('-j MASQUERADE');
  });

  it('the lab host kept serving every request', async () => {
    const pid = await readPidfile(`${lab.dir}/host.pid`);
    expect(pid !== undefined && (await processAlive(pid))).toBe(true);
    expect(await http('lab', { method: 'GET', path: '/_ping' })).toBe('200 OK');
    expect((await lab.cli('lab', 'status')).code).toBe(0);
  });
});

function writeResults(): void {
  const fence = (text: string) =>
    `<pre>${text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('\n', '<br>').replaceAll('|', '&#124;')}</pre>`;
  const same = outcomes.filter((o) => o.verdict === 'same').length;
  const known = outcomes.filter((o) => o.verdict === 'known').length;
  const lines = [
    '# Docker conformance results',
    '',
    'Written by `test/conformance/conformance.test.ts` (`make conformance` or `make test`): each scenario',
    "through Docker's CLI (or as a raw Engine API request) against Debian's dockerd 20.10 and against a lab's",
    '`docker.sock`, ids and times normalised. dockerd runs in a namespace of its own with iptables and `--dns` at a fake upstream. Differences: [docs/docker-compat.md](../../docs/docker-compat.md).',
    '',
    `**${outcomes.length} scenarios: ${same} the same, ${known} with a documented difference, ${outcomes.length - same - known} different.**`,
    '',
    '| # | scenario | command | Docker | arca-net | verdict |',
    '|---|---|---|---|---|---|',
    ...outcomes.map((o, i) => {
      const command = o.scenario.http
        ? `${o.scenario.http.method} ${o.scenario.http.path} ${o.scenario.http.body ?? ''}`
        : o.scenario.exec
          ? `(in ${o.scenario.exec.container}) ${o.scenario.exec.command.join(' ')}`
          : o.scenario.host
            ? `(on the host) ${o.scenario.host.join(' ')}`
            : o.scenario.lifecycle
              ? `docker ${o.scenario.lifecycle.docker.join(' ')} / arca-net ${o.scenario.lifecycle.lab.join(' ')}`
              : `docker ${(o.scenario.docker ?? []).join(' ')}`;
      const verdict = o.verdict === 'known' ? `known: ${o.scenario.known}` : o.verdict;
      return `| ${i + 1} | ${o.scenario.name} | ${fence(command.slice(0, 200))} | ${fence(o.docker)} | ${o.docker === o.lab ? '(same)' : fence(o.lab)} | ${verdict} |`;
    }),
    '',
    '## DNS answer times',
    '',
    'Wall time of each DNS scenario on each side, the `docker exec` / `arca-net lab exec` around the',
    'lookup included (recorded, not asserted; one run on a shared machine).',
    '',
    '| scenario | Docker (ms) | arca-net (ms) |',
    '|---|---|---|',
    ...outcomes
      .filter((o) => o.scenario.name.startsWith('DNS'))
      .map((o) => `| ${o.scenario.name} | ${o.dockerMs} | ${o.labMs} |`),
    '',
    '## Documented differences',
    '',
    ...KNOWN.map((k) => `- \`${k.id}\`: ${k.summary}`),
    '',
  ];
  // `make conformance` refreshes the committed report; `make test` leaves the tree alone.
  const report = process.env.DOCKER_API_RESULTS_MD;
  if (report) writeFileSync(report, lines.join('\n'));
  const json = process.env.DOCKER_API_RESULTS_JSON;
  if (json) writeFileSync(json, JSON.stringify(outcomes, null, 1));
}
