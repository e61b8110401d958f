/**
 * The lab tour (`arca-net lab demo`, `make demo`): brings the lab up and
 * walks through it one checked step at a time: two networks, three
 * containers (one on both), addresses and their DHCP leases, ping by name,
 * isolation, connect/disconnect at run time, relay counters and the round
 * trip time. Every step is reported through a callback; a front end (the
 * CLI) draws it.
 */
import { LabClient } from './api/client.js';
import type { LabContainer } from './api/routes.js';
import { type LabProgress, type LabUpOptions, labDown, labUp } from './lab.js';
import { listNamespaces } from './netns.js';
import type { LabPaths } from './paths.js';
import { dhcpLease } from './probes/dhcp.js';
import { dig } from './probes/dns.js';
import { ping } from './probes/ping.js';
import { tourPublishedPort } from './tour-ports.js';

/** What the tour reports, in order. */
export type TourEvent =
  /** A numbered section of the tour. */
  | { kind: 'heading'; text: string }
  /** A step that passed, with what it found. */
  | { kind: 'passed'; title: string; detail: string; ms: number }
  /** A step that failed, with why (the host's error, or an Error saying what was wrong). */
  | { kind: 'failed'; title: string; error: unknown }
  /** The containers and their attachments (the address table). */
  | { kind: 'containers'; containers: LabContainer[] }
  /** One container with its relay counters (`lab stats`). */
  | { kind: 'counters'; container: LabContainer };

/** Options of {@link runTour}. */
export interface TourOptions {
  /** Leaves the lab up at the end (`make demo KEEP=1`). */
  keep: boolean;
  report: (event: TourEvent) => void;
}

export class Steps {
  failures = 0;
  constructor(private readonly report: (event: TourEvent) => void) {}

  heading(text: string): void {
    this.report({ kind: 'heading', text });
  }

  /** Runs one step; reports it passed (with `detail` of its result) or failed. */
  async step<T>(
    title: string,
    work: () => Promise<T>,
    detail?: (result: T) => string,
  ): Promise<T | undefined> {
    const started = performance.now();
    try {
      const result = await work();
      const ms = performance.now() - started;
      this.report({ kind: 'passed', title, detail: detail ? detail(result) : '', ms });
      return result;
    } catch (error) {
      this.failures++;
      this.report({ kind: 'failed', title, error });
      return undefined;
    }
  }

  /** A step that checks a fact: fails with `detail` when `ok` is false. */
  async expect(title: string, work: () => Promise<{ ok: boolean; detail: string }>): Promise<void> {
    await this.step(
      title,
      async () => {
        const outcome = await work();
        if (!outcome.ok) throw new Error(outcome.detail);
        return outcome.detail;
      },
      (detail) => detail,
    );
  }

  /** `lab up`'s own steps, reported as steps of the tour. */
  get progress(): LabProgress {
    return {
      step: async (title, work) => {
        const started = performance.now();
        const result = await work(() => undefined);
        this.report({ kind: 'passed', title, detail: '', ms: performance.now() - started });
        return result;
      },
    };
  }

  /** `lab up` in `paths` as steps of the tour; false (reported, counted as a failure) when it failed. */
  async labUp(paths: LabPaths, options: Omit<LabUpOptions, 'progress'> = {}): Promise<boolean> {
    try {
      await labUp(paths, { ...options, progress: this.progress });
      return true;
    } catch (error) {
      this.failures++;
      this.report({ kind: 'failed', title: 'lab up', error });
      return false;
    }
  }

  /** The tour's last section `heading`: `lab down`, checked to leave no namespace of the lab. */
  async labDown(
    heading: string,
    paths: LabPaths,
    removed: (namespaces: number) => string,
  ): Promise<void> {
    this.heading(heading);
    await this.expect('lab down', async () => {
      const result = await labDown(paths);
      const left = (await listNamespaces()).filter((name) => paths.ownsNamespace(name));
      return {
        ok: left.length === 0,
        detail:
          left.length === 0
            ? removed(result.namespaces.length)
            : `namespaces left: ${left.join(', ')}`,
      };
    });
  }
}

const replies = (r: { received: number; sent: number }): string =>
  `${r.received}/${r.sent} replies`;

/** Runs the tour on the lab in `paths`; resolves with the number of failed steps. */
export async function runTour(paths: LabPaths, options: TourOptions): Promise<number> {
  const tour = new Steps(options.report);
  tour.heading(
    '1. The lab: a helper namespace runs Open vSwitch + OVN + the controller; the host process relays',
  );
  if (!(await tour.labUp(paths))) return tour.failures;
  const host = new LabClient(paths.hostSocket);
  const containers = new Map<string, LabContainer>();
  const ns = (name: string): string => containers.get(name)?.namespace ?? name;
  const pingFrom = (from: string, target: string, count = 2, intervalSeconds = 0.2) =>
    ping(ns(from), target, { count, intervalSeconds });

  try {
    tour.heading(
      '2. Two networks (Docker default pools; each is an OVN logical switch with DHCP, DNS and a router port)',
    );
    for (const name of ['front', 'back']) {
      await tour.step(
        `network create ${name}`,
        () => host.createNetwork({ name }),
        (n) => `${n.IPAM.Config[0]?.Subnet}, gateway ${n.IPAM.Config[0]?.Gateway}`,
      );
    }

    tour.heading(
      '3. Three containers (a namespace with a forwarder each); api is on both networks',
    );
    for (const [name, network] of [
      ['web', 'front'],
      ['db', 'back'],
      ['api', 'front'],
    ] as const) {
      const view = await tour.step(`lab run --network ${network} ${name}`, () =>
        host.runContainer({ name, network }),
      );
      if (view) containers.set(name, view);
    }
    const apiBack = await tour.step('network connect back api', () =>
      host.connect('back', { container: 'api' }),
    );
    if (apiBack) containers.set('api', apiBack);
    options.report({ kind: 'containers', containers: [...containers.values()] });

    tour.heading(
      "3b. DHCP: each container asks OVN's DHCP server through the relays (udhcpc); the lease is the address above",
    );
    for (const c of containers.values()) {
      for (const a of c.attachments) {
        await tour.expect(`${c.name} ${a.device}: DHCP lease`, async () => {
          const lease = await dhcpLease(ns(c.name), a.device);
          if (!lease) return { ok: false, detail: 'no lease' };
          return {
            ok: lease.ip === a.ip,
            detail: `${lease.ip} from ${lease.server}${lease.ip === a.ip ? '' : `, expected ${a.ip}`}`,
          };
        });
      }
    }

    tour.heading(
      '4. Ping by name within a network (names resolve through the embedded DNS on 127.0.0.11)',
    );
    for (const [from, to] of [
      ['web', 'api'],
      ['api', 'web'],
      ['api', 'db'],
      ['db', 'api'],
    ] as const) {
      await tour.expect(`${from} → ${to}`, async () => {
        const result = await pingFrom(from, to);
        return { ok: result.received > 0, detail: replies(result) };
      });
    }
    // Timed lookups, retries off: an answer must come at once, never after a resolver timeout.
    for (const [name, type] of [
      ['api', 'A'],
      ['api', 'AAAA'],
      ['www.example.com', 'A'],
    ] as const) {
      await tour.expect(`dig ${type} ${name} from web`, async () => {
        const r = await dig(ns('web'), name, { type });
        return {
          ok: r.status !== 'TIMEOUT' && r.timeMs < 1000,
          detail: `${r.status} ${r.answers.join(' ') || '(no data)'}, query time ${r.timeMs} ms`,
        };
      });
    }

    tour.heading('5. Isolation between networks (these must fail)');
    const dbIp = containers.get('db')?.attachments[0]?.ip ?? '';
    await tour.expect('web cannot resolve db (db is only on back)', async () => {
      const result = await pingFrom('web', 'db', 1);
      return {
        ok: !result.resolved || result.received === 0,
        detail: result.resolved ? 'resolved!' : 'name unknown on front',
      };
    });
    await tour.expect(`web cannot reach db's address ${dbIp}`, async () => {
      const result = await pingFrom('web', dbIp, 2);
      return { ok: result.received === 0, detail: replies(result) };
    });

    tour.heading('6. Connect and disconnect at run time');
    await tour.step(
      'network connect back web',
      () => host.connect('back', { container: 'web' }),
      (v) => {
        const back = v.attachments.find((a) => a.networkName === 'back');
        return back ? `${back.device} ${back.ip}` : '';
      },
    );
    await tour.expect('web → db now works', async () => {
      const result = await pingFrom('web', 'db');
      return { ok: result.received > 0, detail: replies(result) };
    });
    await tour.step('network disconnect back web', () =>
      host.disconnect('back', { container: 'web' }),
    );
    await tour.expect('web → db fails again at once', async () => {
      const result = await pingFrom('web', dbIp, 2);
      return { ok: result.received === 0, detail: replies(result) };
    });

    tour.heading(
      '7. Round trip time web → api (container → host relay → OVS in the helper → host relay → container)',
    );
    await tour.expect('ping -c 20 -i 0.05 api', async () => {
      const result = await pingFrom('web', 'api', 20, 0.05);
      if (result.rttsUs.length === 0) return { ok: false, detail: replies(result) };
      const ms = (us: number): string => (us / 1000).toFixed(3);
      const sum = result.rttsUs.reduce((a, b) => a + b, 0);
      const rtt = [
        Math.min(...result.rttsUs),
        sum / result.rttsUs.length,
        Math.max(...result.rttsUs),
      ];
      return {
        ok: result.received === result.sent,
        detail: `${replies(result)}, rtt min/avg/max ${rtt.map(ms).join('/')} ms`,
      };
    });

    tour.heading(
      '7b. A published port (lab run -p) reached from the host: host listener → helper → OVN load balancer',
    );
    await tourPublishedPort(tour, host, 'front');

    tour.heading(
      '8. Live relay counters of api (one host relay per attachment; OUT = from the container)',
    );
    const api = await tour.step(
      'lab stats api',
      () => host.inspectContainer('api'),
      (c) => `${c.attachments.length} attachments`,
    );
    if (api) options.report({ kind: 'counters', container: api });
  } finally {
    if (!options.keep) {
      await tour.labDown(
        '9. Tear down',
        paths,
        (n) => `${n} namespaces removed with their TAPs, processes and OVS/OVN state`,
      );
    }
  }
  return tour.failures;
}
