/**
 * Hostile containers on a lab, each with real traffic: MAC, IP and ARP
 * spoofing, a rogue DHCP server (busybox udhcpd) and forged DHCP replies,
 * broadcast and multicast towards another network, an internal network
 * towards the outside, and a flood (hping3) while the others ping.
 *
 * A "nothing arrived" is never waited for with a sleep: after the hostile
 * frames the same container sends a harmless marker on the same path, and the
 * capture is read once the marker arrived (frames of one container are not
 * reordered: test/reliability/frames.test.ts).
 *
 * `ARCA_NET_FLOOD_SECONDS` (default 3; `make soak`: 10) sets the flood's
 * length; its figures go to stdout and, with `ARCA_NET_RELIABILITY_OUT`, to
 * the soak report's `hostile` cases.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dhcpLease,
  inNamespace,
  type LabContainer,
  OUTSIDE_GATEWAY,
  ping,
  processAlive,
  readPidfile,
  tryCommand,
  waitFor,
} from '../../packages/lab/dist/index.js';
import { LabHarness } from '../e2e/harness.js';
import { addHostileCases, type HostileCase } from '../reliability/report-out.js';
import { Capture, hostile } from './capture.js';

const FLOOD_SECONDS = Number(process.env.ARCA_NET_FLOOD_SECONDS ?? 3);
const lab = new LabHarness('security');
const cases: HostileCase[] = [];
const captures: Capture[] = [];
const children: ChildProcess[] = [];

interface Endpoint {
  namespace: string;
  ip: string;
  mac: string;
  gateway: string;
}
let a: Endpoint; // sec1: a peer, the victim of spoofing
let b: Endpoint; // sec1: a peer that listens
let m: Endpoint; // sec1: mallory, the hostile container
let c: Endpoint; // sec2: another network
let d: Endpoint; // sec2
let i: Endpoint; // secint: an internal network

async function endpoint(name: string): Promise<Endpoint> {
  const ps = await lab.json<LabContainer[]>('lab', 'ps');
  const container = ps.find((x) => x.name === name) as LabContainer;
  const att = container.attachments[0];
  if (!att) throw new Error(`${name} has no attachment`);
  return { namespace: container.namespace, ip: att.ip, mac: att.mac, gateway: att.gateway };
}

async function capture(on: Endpoint | string, filter: string): Promise<Capture> {
  // A namespace name is the lab's outside, whose interface is ext0 (packages/lab/src/outside.ts).
  const [ns, device] = typeof on === 'string' ? [on, 'ext0'] : [on.namespace, 'eth0'];
  const started = await Capture.start(ns, device, filter);
  captures.push(started);
  return started;
}

/** Runs argv in `ns`; throws with its output unless it exits 0. */
async function inNs(ns: string, ...argv: string[]): Promise<string> {
  const result = await tryCommand(inNamespace(ns, argv), { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** One echo request from `from` to `target` answered within a bounded wait. */
async function answers(from: Endpoint, target: string): Promise<boolean> {
  return (await ping(from.namespace, target, { count: 3, intervalSeconds: 0.2 })).received > 0;
}

function record(name: string, contained: boolean, detail: string): void {
  cases.push({ name, contained, detail });
  process.stdout.write(
    `hostile ${name}: ${contained ? 'contained' : 'NOT contained'}; ${detail}\n`,
  );
}

/** Once `cap` has seen `marker` (sent after the hostile frames on the same path), its lines with `leak`. */
async function leakedBefore(cap: Capture, marker: string, leak: string, what?: string) {
  expect(await cap.seen(marker), what).toBe(true);
  return cap.matching(leak);
}

/** The case is contained when nothing `leaked`; recorded for the soak report. */
function expectContained(name: string, leaked: string[], detail: string): void {
  expect(leaked).toEqual([]);
  record(name, leaked.length === 0, detail);
}

/** hostile.py frame: one UDP datagram from m's eth0 to b, port to port, with this source MAC and IP. */
function frameToB(srcMac: string, srcIp: string, port: string, payload: string): Promise<void> {
  return hostile(m.namespace, 'frame', 'eth0', srcMac, b.mac, srcIp, b.ip, port, port, payload);
}

beforeAll(async () => {
  const up = await lab.cli('lab', 'up');
  expect(up.code, up.stderr).toBe(0);
  await lab.ok('network', 'create', 'sec1', '--subnet', '10.81.0.0/24');
  await lab.ok('network', 'create', 'sec2', '--subnet', '10.82.0.0/24');
  await lab.ok('network', 'create', 'secint', '--subnet', '10.83.0.0/24', '--internal');
  for (const name of ['a', 'b', 'm']) await lab.ok('lab', 'run', name, '--network', 'sec1');
  for (const name of ['c', 'd']) await lab.ok('lab', 'run', name, '--network', 'sec2');
  await lab.ok('lab', 'run', 'i', '--network', 'secint');
  [a, b, m, c, d, i] = await Promise.all([
    endpoint('a'),
    endpoint('b'),
    endpoint('m'),
    endpoint('c'),
    endpoint('d'),
    endpoint('i'),
  ]);
}, 180_000);

afterAll(async () => {
  for (const cap of captures) cap.stop();
  for (const child of children) child.kill();
  await addHostileCases(cases);
  await lab.down();
});

describe('a container cannot pretend to be another one (port security)', () => {
  it('frames with another source MAC are not delivered', async () => {
    const seen = await capture(b, 'udp dst portrange 47100-47101');
    // As a, with a's IP, and as a MAC nobody has.
    await frameToB(a.mac, a.ip, '47100', 'x');
    await frameToB('02:00:5e:00:53:66', m.ip, '47100', 'x');
    await frameToB(m.mac, m.ip, '47101', 'ok');
    const leaked = await leakedBefore(seen, '.47101:', '.47100:', 'the marker from the true MAC');
    expectContained(
      'MAC spoofing',
      leaked,
      "frames with a peer's MAC and an unknown MAC: none delivered",
    );
  });

  it('packets with another source IP are not delivered', async () => {
    const seen = await capture(b, 'udp dst portrange 47102-47103');
    for (const spoofed of [a.ip, '10.81.0.250', c.ip]) await frameToB(m.mac, spoofed, '47102', 'x');
    await frameToB(m.mac, m.ip, '47103', 'ok');
    const leaked = await leakedBefore(seen, '.47103:', '.47102:', 'the marker from the true IP');
    expectContained(
      'IP spoofing',
      leaked,
      "a peer's, a free and another network's address: none delivered",
    );
  });

  it("ARP claiming the gateway's or a peer's address reaches no one; caches and traffic unaffected", async () => {
    expect(await answers(a, a.gateway)).toBe(true);
    expect(await answers(a, b.ip)).toBe(true);
    const neighbours = async () =>
      (await inNs(a.namespace, 'ip', '-4', 'neigh', 'show', 'dev', 'eth0'))
        .split('\n')
        .filter((line) => line.startsWith(`${a.gateway} `) || line.startsWith(`${b.ip} `))
        .map((line) => line.split(' ').slice(0, 3).join(' '))
        .sort();
    const before = await neighbours();
    expect(before).toHaveLength(2);
    const seen = await capture(a, `arp and ether src ${m.mac}`);
    // Gratuitous requests (-U) and an unsolicited reply to a (-P -t) for others' addresses.
    // arping exits 1 when nothing answers (the point); it must have run, though.
    const arping = async (...args: string[]) => {
      const result = await tryCommand(
        inNamespace(m.namespace, ['arping', '-i', 'eth0', '-c', '1', ...args]),
      );
      expect(result.stdout, result.stderr).toContain('ARPING');
    };
    await arping('-U', '-S', a.gateway, a.gateway);
    await arping('-U', '-S', b.ip, b.ip);
    await arping('-U', '-P', '-S', b.ip, '-t', a.mac, b.ip);
    await arping('-U', '-S', m.ip, m.ip);
    expect(await seen.seen(`tell ${m.ip}`), "m's own gratuitous ARP").toBe(true);
    const claims = seen.lines.filter(
      (line) => line.includes(a.gateway) || line.includes(` ${b.ip} `),
    );
    expect(claims).toEqual([]);
    expect(await neighbours()).toEqual(before);
    expect(await answers(a, a.gateway)).toBe(true);
    expect(await answers(a, b.ip)).toBe(true);
    record(
      'ARP spoofing',
      claims.length === 0,
      "gratuitous ARP for the gateway's and a peer's address, unsolicited reply: none delivered, the peer's ARP cache unchanged",
    );
  });
});

describe('DHCP servers in containers', () => {
  it("a rogue udhcpd's offers and forged DHCP replies are dropped at its port", async () => {
    const dir = join(lab.dir, 'rogue-dhcp');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'leases'), '');
    await writeFile(
      join(dir, 'udhcpd.conf'),
      [
        'start 10.81.0.100',
        'end 10.81.0.150',
        'interface eth0',
        `lease_file ${join(dir, 'leases')}`,
        `pidfile ${join(dir, 'udhcpd.pid')}`,
        `opt router ${m.ip}`,
        'opt subnet 255.255.255.0',
        '',
      ].join('\n'),
    );
    const sent = await capture(m, `udp src port 67 and ether src ${m.mac}`);
    const atPeer = await capture(b, `udp src port 67 and ether src ${m.mac}`);
    const argv = inNamespace(m.namespace, ['busybox', 'udhcpd', '-f', join(dir, 'udhcpd.conf')]);
    const server = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(server);
    let log = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    expect(await waitFor(async () => log.includes('started'), { timeoutMs: 15_000 })).toBe(true);
    // OVN answers broadcasts itself, so a client asks the rogue directly.
    await hostile(a.namespace, 'discover', m.ip, a.mac);
    expect(await sent.seen('BOOTP/DHCP, Reply', 30_000), `udhcpd offered nothing: ${log}`).toBe(
      true,
    );
    // Forged offers from m's own MAC and IP (port security passes them), then a marker.
    await hostile(m.namespace, 'offer', 'eth0', m.mac, m.ip, '3');
    await hostile(
      m.namespace,
      ...['frame', 'eth0', m.mac, 'ff:ff:ff:ff:ff:ff', m.ip, '255.255.255.255', '67', '9999', 'ok'],
    );
    expect(await atPeer.seen('.9999:'), 'the marker').toBe(true);
    const offers = atPeer.matching('.68:');
    expect(offers, 'DHCP replies from a container reached its peer').toEqual([]);
    // A container that starts now still gets OVN's lease, with the rogue still there.
    await lab.ok('lab', 'run', 'v', '--network', 'sec1');
    const v = await endpoint('v');
    const lease = await dhcpLease(v.namespace, 'eth0');
    expect(lease).toEqual({ ip: v.ip, server: v.gateway });
    server.kill();
    record(
      'rogue DHCP server (udhcpd) and forged DHCP replies',
      offers.length === 0,
      `${sent.matching('.68:').length} replies sent by the rogue, 0 reached a peer; a new container leased ${lease?.ip} from ${lease?.server}`,
    );
  });
});

describe('broadcast and multicast stay in their network', () => {
  it("a's broadcasts and multicasts reach b on its network, not c on another", async () => {
    const filter = 'udp dst portrange 47110-47111';
    const [same, other] = [await capture(b, filter), await capture(c, filter)];
    for (const dst of ['255.255.255.255', '10.81.0.255', '10.82.0.255', '239.1.2.3', '224.0.0.1']) {
      await hostile(a.namespace, 'udp', dst, '47110', 'x', '2', '8');
    }
    // Markers: a's to b (once b has a's last frame, the switch has made every
    // copy of a's frames), then d's to c, queued behind any copy made for c.
    await hostile(a.namespace, 'udp', b.ip, '47111', 'ok');
    expect(await same.seen('.47111:')).toBe(true);
    await hostile(d.namespace, 'udp', c.ip, '47111', 'ok');
    const crossed = await leakedBefore(other, '.47111:', '.47110:');
    for (const dst of ['255.255.255.255', '10.81.0.255', '239.1.2.3', '224.0.0.1']) {
      expect(same.matching(`${dst}.47110:`).length, dst).toBeGreaterThan(0);
    }
    expectContained(
      'broadcast and multicast across networks',
      crossed,
      'limited and directed broadcast, 239.1.2.3 and 224.0.0.1 (TTL 8): seen on the same network, none on another',
    );
  });
});

describe('an internal network', () => {
  it('cannot reach the outside, even with a default route of its own', async () => {
    const outside = `${lab.prefix}-outside`;
    const seen = await capture(outside, 'icmp[icmptype] == icmp-echo');
    await inNs(i.namespace, 'ip', 'route', 'replace', 'default', 'via', i.gateway);
    const fromInternal = await ping(i.namespace, OUTSIDE_GATEWAY, {
      count: 3,
      intervalSeconds: 0.2,
      payloadBytes: 333,
    });
    expect(fromInternal.received).toBe(0);
    // The marker: a non-internal network reaches the outside (SNAT).
    const fromA = await ping(a.namespace, OUTSIDE_GATEWAY, {
      count: 1,
      intervalSeconds: 0.2,
      payloadBytes: 444,
      waitSeconds: 5,
    });
    expect(fromA.received).toBe(1);
    expectContained(
      'internal network towards the outside',
      await leakedBefore(seen, 'length 452', 'length 341'),
      `${fromInternal.sent} pings from an internal network with its own default route: 0 answered, none seen outside`,
    );
  });
});

describe(`a ${FLOOD_SECONDS} s flood from one container`, () => {
  /** Every lab process's pidfile → pid. */
  async function labPids(): Promise<Map<string, number>> {
    const files = [join(lab.dir, 'host.pid')];
    for (const dir of [join(lab.dir, 'pids'), join(lab.dir, 'helper', 'run')]) {
      for (const name of await readdir(dir)) if (name.endsWith('.pid')) files.push(join(dir, name));
    }
    const pids = new Map<string, number>();
    for (const file of files) {
      const pid = await readPidfile(file);
      if (pid) pids.set(file, pid);
    }
    return pids;
  }

  function figures(result: Awaited<ReturnType<typeof ping>>): string {
    const rtts = [...result.rttsUs].sort((x, y) => x - y);
    const at = (q: number) => ((rtts[Math.floor(q * (rtts.length - 1))] ?? 0) / 1000).toFixed(2);
    const loss = result.sent ? (100 * (result.sent - result.received)) / result.sent : 100;
    return `loss ${loss.toFixed(1)} % (${result.received}/${result.sent}), rtt p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
  }

  it('costs the others latency at most: no process dies and the other network still answers', async () => {
    const before = await labPids();
    expect(before.size).toBeGreaterThan(5);
    const count = String(Math.round(FLOOD_SECONDS / 0.05));
    const pings = {
      same: ping(a.namespace, b.ip, { count: Number(count), intervalSeconds: 0.05 }),
      other: ping(c.namespace, d.ip, { count: Number(count), intervalSeconds: 0.05 }),
    };
    const flood = await tryCommand(
      inNamespace(m.namespace, [
        ...['timeout', String(FLOOD_SECONDS), 'hping3', '--flood', '--udp', '-p', '9'],
        ...['-d', '1000', b.ip],
      ]),
      { timeoutMs: (FLOOD_SECONDS + 30) * 1000 },
    );
    // timeout(1) ends the flood: exit 124.
    expect(flood.code, flood.stderr).toBe(124);
    const sent = /(\d+) packets transmitted/.exec(flood.stdout + flood.stderr)?.[1] ?? '?';
    const [same, other] = await Promise.all([pings.same, pings.other]);
    const died: string[] = [];
    for (const [file, pid] of before) if (!(await processAlive(pid))) died.push(file);
    expect(died).toEqual([]);
    expect(await labPids()).toEqual(before);
    expect(await answers(c, d.ip)).toBe(true);
    const relay = (await lab.json<LabContainer>('lab', 'stats', 'm')).attachments[0]?.relay;
    const detail = [
      `${FLOOD_SECONDS} s of hping3 --flood (UDP, 1000 B) from m to b: ${sent} packets, relay of m carried ${relay?.toHelper.frames ?? '?'} frames (${relay?.toHelper.drops ?? '?'} dropped)`,
      `same network (a→b, 50 ms): ${figures(same)}`,
      `other network (c→d, 50 ms): ${figures(other)}`,
      'no process died',
    ].join('; ');
    record(`flood of ${FLOOD_SECONDS} s from one container`, died.length === 0, detail);
  });
});
