/**
 * `arca-net lab demo` (and `make demo`): brings the lab up and tours it with
 * one ✔ or ✘ per step: two networks, three containers (one on both),
 * addresses and their DHCP leases, ping by name, isolation, connect/disconnect at run time, relay
 * counters and the measured round trip time. Exit code 1 when a step fails.
 */

import { describeError } from './cli.js';
import type { CommandContext } from './commands/context.js';
import { formatStats } from './commands/lab.js';
import type { ContainerView } from './daemon/api.js';
import { HostClient } from './daemon/client.js';
import { hostRunning, labDown, labUp } from './lab/lab.js';
import { listNamespaces, runInNamespace } from './lab/netns.js';
import { DEFAULT_LAB_DIR } from './lab/paths.js';
import { CROSS, formatDuration, formatTable, TICK } from './output.js';

/** One ping's outcome: replies received and the rtt summary line. */
interface PingResult {
  sent: number;
  received: number;
  /** min/avg/max in ms, when any reply came */
  rtt?: { min: number; avg: number; max: number };
  resolved: boolean;
}

function parsePing(output: string, count: number): PingResult {
  const received = Number(/(\d+) (?:packets )?received/.exec(output)?.[1] ?? 0);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(output);
  return {
    sent: count,
    received,
    resolved: !/bad address|unknown host|Name or service not known|Temporary failure/i.test(output),
    ...(rtt ? { rtt: { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]) } } : {}),
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `    ${line}\n`)
    .join('');
}

class Tour {
  failures = 0;
  constructor(private readonly context: CommandContext) {}

  heading(text: string): void {
    this.context.io.out(`\n${text}\n`);
  }

  line(text: string): void {
    this.context.io.out(`    ${text}\n`);
  }

  /** Runs one step; prints `✔ title: detail` or `✘ title: reason`. */
  async step<T>(
    title: string,
    work: () => Promise<T>,
    detail?: (result: T) => string,
  ): Promise<T | undefined> {
    const started = performance.now();
    try {
      const result = await work();
      const text = detail ? detail(result) : '';
      const took = formatDuration(performance.now() - started);
      this.context.io.out(`  ${TICK} ${title}${text ? `: ${text}` : ''} (${took})\n`);
      return result;
    } catch (error) {
      this.failures++;
      this.context.io.out(
        `  ${CROSS} ${title}: ${describeError(error)[0].replace(/^arca-net: /, '')}\n`,
      );
      return undefined;
    }
  }

  /** A step that checks a fact: fails with `why` when `ok` is false. */
  async expect(
    title: string,
    work: () => Promise<{ ok: boolean; detail: string }>,
  ): Promise<boolean> {
    const result = await this.step(
      title,
      async () => {
        const outcome = await work();
        if (!outcome.ok) throw new Error(outcome.detail);
        return outcome.detail;
      },
      (detail) => detail,
    );
    return result !== undefined;
  }
}

async function ping(
  namespace: string,
  target: string,
  count = 2,
  interval = '0.2',
): Promise<PingResult> {
  const args = ['ping', '-c', String(count), '-W', '1', '-i', interval];
  const result = await runInNamespace(namespace, [...args, target], 30_000);
  return parsePing(`${result.stdout}\n${result.stderr}`, count);
}

/** The DHCPv4 lease that OVN offers on `device` (busybox udhcpc; the interface is left as it is). */
async function dhcpLease(
  namespace: string,
  device: string,
): Promise<{ ip: string; server: string } | undefined> {
  // -s /bin/true: no script configures anything; -q: quit once leased; -n: give up after -t tries.
  const argv = ['busybox', 'udhcpc', '-i', device, '-f', '-q', '-n', '-t', '5', '-T', '1'];
  const result = await runInNamespace(namespace, [...argv, '-s', '/bin/true'], 30_000);
  const lease = /lease of ([\d.]+) obtained from ([\d.]+)/.exec(
    `${result.stdout}\n${result.stderr}`,
  );
  return lease ? { ip: lease[1] ?? '', server: lease[2] ?? '' } : undefined;
}

export async function labDemoCommand(
  context: CommandContext,
  options: { keep: boolean },
): Promise<number> {
  const { io, paths } = context;
  const tour = new Tour(context);
  io.out(`arca-net lab tour (lab directory ${paths.dir})\n`);

  tour.heading(
    '1. The lab: a helper namespace runs Open vSwitch + OVN + the controller; the host process relays',
  );
  if (await hostRunning(paths)) {
    io.out(
      `  ${CROSS} a lab is already running in ${paths.dir}: run 'arca-net lab down' first (or use --lab-dir)\n`,
    );
    return 1;
  }
  try {
    await labUp(paths, { ...io, interactive: false, err: io.out });
  } catch (error) {
    io.out(`  ${CROSS} lab up: ${describeError(error)[0].replace(/^arca-net: /, '')}\n`);
    return 1;
  }
  const host = new HostClient(paths.hostSocket);
  const containers = new Map<string, ContainerView>();
  const ns = (name: string): string => containers.get(name)?.namespace ?? name;

  try {
    tour.heading(
      '2. Two networks (Docker default pools; each is an OVN logical switch with DHCP, DNS and a router port)',
    );
    for (const name of ['front', 'back']) {
      await tour.step(
        `network create ${name}`,
        () => host.createNetwork({ name }),
        (n) => `${n.subnet}, gateway ${n.gateway}`,
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
    const rows = [...containers.values()].flatMap((c) =>
      c.networks.map((n) => [
        c.name,
        n.network,
        n.device,
        `${n.ipAddress}/${n.prefixLength}`,
        n.macAddress,
        String(n.port ?? '-'),
      ]),
    );
    io.out(
      `\n${indent(formatTable(['CONTAINER', 'NETWORK', 'DEVICE', 'ADDRESS', 'MAC', 'DATA PORT'], rows))}`,
    );

    tour.heading(
      "3b. DHCP: each container asks OVN's DHCP server through the relays (udhcpc); the lease is the address above",
    );
    for (const c of containers.values()) {
      for (const n of c.networks) {
        await tour.expect(`${c.name} ${n.device}: DHCP lease`, async () => {
          const lease = await dhcpLease(ns(c.name), n.device);
          if (!lease) return { ok: false, detail: 'no lease' };
          return {
            ok: lease.ip === n.ipAddress,
            detail: `${lease.ip} from ${lease.server}${lease.ip === n.ipAddress ? '' : `, expected ${n.ipAddress}`}`,
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
        const result = await ping(ns(from), to);
        return { ok: result.received > 0, detail: `${result.received}/${result.sent} replies` };
      });
    }

    tour.heading('5. Isolation between networks (these must fail)');
    const dbIp = containers.get('db')?.networks[0]?.ipAddress ?? '';
    await tour.expect('web cannot resolve db (db is only on back)', async () => {
      const result = await ping(ns('web'), 'db', 1);
      return {
        ok: !result.resolved || result.received === 0,
        detail: result.resolved ? 'resolved!' : 'name unknown on front',
      };
    });
    await tour.expect(`web cannot reach db's address ${dbIp}`, async () => {
      const result = await ping(ns('web'), dbIp, 2);
      return { ok: result.received === 0, detail: `${result.received}/${result.sent} replies` };
    });

    tour.heading('6. Connect and disconnect at run time');
    await tour.step(
      'network connect back web',
      () => host.connect('back', { container: 'web' }),
      (v) => {
        const back = v.networks.find((n) => n.network === 'back');
        return back ? `${back.device} ${back.ipAddress}` : '';
      },
    );
    await tour.expect('web → db now works', async () => {
      const result = await ping(ns('web'), 'db');
      return { ok: result.received > 0, detail: `${result.received}/${result.sent} replies` };
    });
    await tour.step('network disconnect back web', () =>
      host.disconnect('back', { container: 'web' }),
    );
    await tour.expect('web → db fails again at once', async () => {
      const result = await ping(ns('web'), dbIp, 2);
      return { ok: result.received === 0, detail: `${result.received}/${result.sent} replies` };
    });

    tour.heading(
      '7. Round trip time web → api (container → host relay → OVS in the helper → host relay → container)',
    );
    await tour.expect('ping -c 20 -i 0.05 api', async () => {
      const result = await ping(ns('web'), 'api', 20, '0.05');
      if (!result.rtt) return { ok: false, detail: `${result.received}/${result.sent} replies` };
      return {
        ok: result.received === result.sent,
        detail: `${result.received}/${result.sent} replies, rtt min/avg/max ${result.rtt.min}/${result.rtt.avg}/${result.rtt.max} ms`,
      };
    });

    tour.heading(
      '8. Live relay counters of api (one host relay per attachment; OUT = from the container)',
    );
    const stats = await tour.step(
      'lab stats api',
      () => host.containerStats('api'),
      (s) => `${s.networks.length} attachments`,
    );
    if (stats) io.out(indent(formatStats(stats)));
  } finally {
    if (options.keep) {
      const cli = `node ${process.argv[1] ?? 'packages/cli/dist/main.js'}`;
      const lab = paths.dir === DEFAULT_LAB_DIR ? '' : ` --lab-dir ${paths.dir}`;
      tour.heading('The lab stays up (KEEP=1). Try:');
      for (const command of ['lab ps', 'lab exec web -- ping -c 3 api', 'network ls', 'lab down']) {
        const [group, sub, ...rest] = command.split(' ');
        tour.line([cli, group, sub + lab, ...rest].join(' '));
      }
    } else {
      tour.heading('9. Tear down');
      await tour.expect('lab down', async () => {
        const removed = await labDown(
          paths,
          { ...io, interactive: false, err: () => undefined },
          { quiet: true },
        );
        const left = (await listNamespaces()).filter((name) => paths.ownsNamespace(name));
        return {
          ok: left.length === 0,
          detail:
            left.length === 0
              ? `${removed.namespaces.length} namespaces removed with their TAPs, processes and OVS/OVN state`
              : `namespaces left: ${left.join(', ')}`,
        };
      });
    }
  }
  io.out(
    tour.failures === 0
      ? `\n${TICK} tour complete: every step passed\n`
      : `\n${CROSS} tour finished with ${tour.failures} failed step${tour.failures === 1 ? '' : 's'}\n`,
  );
  return tour.failures === 0 ? 0 : 1;
}
