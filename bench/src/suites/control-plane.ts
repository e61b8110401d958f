/**
 * The control plane of a whole arca-net lab, timed through the lab host's API:
 * how long `network connect` takes until the new interface answers a ping,
 * how long attaching many containers across many networks takes, and how long
 * every attachment needs to carry traffic again after the helper's controller
 * is killed and started again.
 *
 * The suite brings up a lab of its own and always takes it down. Every network
 * is internal and lies in the benchmarking range 198.18.0.0/15 (RFC 2544);
 * every ping goes from a container of this lab to a gateway of this lab.
 *
 * The lab API always connects a container when it starts it, so containers
 * are started on a home network first and the timed attachments are
 * `network connect` calls. There are as many home networks as attach
 * networks and container i starts on home i mod N and is attached to network
 * i mod N, so no network holds more containers than the scenario asks for
 * (the host pushes a DNS snapshot to every member of a network on connect).
 *
 * Order of work (the figures come back in the order connect, attach, restore):
 * create the networks; start the first containers; kill and restart the
 * controller with exactly those attachments in place (restore); connect each
 * of them to one more network, one at a time (connect); start the remaining
 * containers; connect every container to its attach network (attach).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetworkInspect } from '@arca-net/host';
import { inNamespace, type LabContainer, runCommand } from '@arca-net/lab';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';
import { BenchLab, waitGone } from '../tools/lab.js';

/** The suite's lab: its own directory and namespace prefix, so it never meets another lab. */
const LAB = { dir: '/tmp/anbcp-lab', prefix: 'anbcp' } as const;

/** How much each figure measures. */
export interface ControlPlaneBudget {
  /** Containers timed one by one by `connect`; also the attachments `restore` brings back. */
  connects: number;
  /** Containers attached by `attach` (the first `connects` of them are reused). */
  containers: number;
  /** Networks `attach` spreads the containers across. */
  networks: number;
  /** API calls in flight while starting and attaching containers. */
  inFlight: number;
}

/** `make bench`: 50 timed connects and restored attachments, 200 containers across 20 networks. */
export const FULL_CONTROL_PLANE_BUDGET: ControlPlaneBudget = {
  connects: 50,
  containers: 200,
  networks: 20,
  inFlight: 4,
};
/** `QUICK=1`: 10 timed connects and restored attachments, 40 containers across 4 networks. */
export const QUICK_CONTROL_PLANE_BUDGET: ControlPlaneBudget = {
  connects: 5,
  containers: 16,
  networks: 2,
  inFlight: 4,
};

/** Ping every 2 ms while waiting for the first reply of a fresh attachment. */
const CONNECT_PING_INTERVAL_S = 0.002;
/** Ping every 20 ms per attachment while the controller restarts (50 × 50/s at most). */
const RESTORE_PING_INTERVAL_S = 0.02;
/**
 * After a restart, how long to leave the host alone once the controller
 * listens again: the host's helper watch polls every 2 s (each check with a
 * 2 s deadline) and reconciles when it saw the helper gone, which must not
 * land in the next figure.
 */
const SETTLE_AFTER_LISTENING_MS = 5000;

const base = { suite: 'control-plane', config: 'arca-net' } as const;

/** Wall-clock now in ms since the epoch, with sub-millisecond resolution (ping -D's clock). */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `work` over `items` with at most `limit` calls in flight; results keep
 * the order of `items`. After a failure nothing new starts, the calls in
 * flight finish, and the first error is thrown.
 */
async function inFlight<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Options of {@link firstReplyAt}. */
interface ProbeOptions {
  intervalSeconds: number;
  deadlineMs: number;
}

/**
 * Wall-clock time (ms since the epoch) of the first echo reply from `target`
 * to a ping run in namespace `ns`: `ping -c 1 -w DEADLINE -i INTERVAL -D`
 * sends every INTERVAL until one reply arrives and stamps it. A ping that
 * cannot start yet (no route to `target`) is started again 5 ms later.
 */
async function firstReplyAt(ns: string, target: string, options: ProbeOptions): Promise<number> {
  const deadline = Date.now() + options.deadlineMs;
  let lastError = 'not tried';
  while (Date.now() < deadline) {
    const seconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const argv = inNamespace(ns, [
      'ping',
      '-n',
      '-D',
      '-c',
      '1',
      '-w',
      String(seconds),
      '-i',
      String(options.intervalSeconds),
      target,
    ]);
    try {
      const { stdout } = await runCommand(argv, { timeoutMs: seconds * 1000 + 10_000 });
      const stamp = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(stdout);
      if (stamp) return Number(stamp[1]) * 1000;
      lastError = `no stamped reply in: ${stdout.slice(-300)}`;
    } catch (error) {
      lastError = message(error);
    }
    await sleep(5);
  }
  throw new Error(
    `no ping reply from ${target} in ${ns} within ${options.deadlineMs} ms: ${lastError}`,
  );
}

/** Networks of the suite, all internal, all in 198.18.0.0/15. */
async function createNetwork(lab: BenchLab, name: string, subnet: string): Promise<NetworkInspect> {
  return lab.createNetwork({ name, subnet, internal: true });
}

/** The home and attach networks and who lives where. */
interface Fleet {
  /** The attach networks. */
  networks: NetworkInspect[];
  /** Time to create every home and attach network. */
  createSeconds: number;
  /** Network container `index` starts on. */
  home(index: number): NetworkInspect;
  /** Network container `index` is attached to by the attach figure. */
  target(index: number): NetworkInspect;
}

async function createFleet(
  lab: BenchLab,
  count: number,
  log: (line: string) => void,
): Promise<Fleet> {
  if (count < 1 || count > 40) throw new Error('control-plane: 1 to 40 attach networks');
  log(`control-plane: creating ${count} home and ${count} attach networks`);
  const began = performance.now();
  const homes: NetworkInspect[] = [];
  const networks: NetworkInspect[] = [];
  for (let k = 0; k < count; k++) {
    const suffix = String(k).padStart(2, '0');
    homes.push(await createNetwork(lab, `cp-home-${suffix}`, `198.18.${100 + k}.0/24`));
    networks.push(await createNetwork(lab, `cp-net-${suffix}`, `198.18.${10 + k}.0/24`));
  }
  return {
    networks,
    createSeconds: (performance.now() - began) / 1000,
    home: (index) => homes[index % homes.length]!,
    target: (index) => networks[index % networks.length]!,
  };
}

/** A network's gateway (`IPAM.Config[0]`, as Docker's inspect has it). */
function gatewayOf(network: NetworkInspect): string {
  const gateway = network.IPAM.Config[0]?.Gateway;
  if (!gateway) throw new Error(`network ${network.Name} has no gateway`);
  return gateway;
}

/** The gateway of a container's first interface (its home network's). */
function homeGateway(container: LabContainer): string {
  const gateway = container.attachments[0]?.gateway;
  if (!gateway) throw new Error(`container ${container.name} has no network`);
  return gateway;
}

/** Starting containers: every `POST /v1/containers` call's duration and the wall time of each batch. */
interface StartLog {
  callsMs: number[];
  wallSeconds: number;
}

/** Starts containers `from` to `to` - 1 (`cp-000`, …) on their home networks. */
async function startContainers(
  lab: BenchLab,
  fleet: Fleet,
  range: { from: number; to: number },
  limit: number,
  starts: StartLog,
  log: (line: string) => void,
): Promise<LabContainer[]> {
  const indexes = Array.from({ length: range.to - range.from }, (_, i) => range.from + i);
  log(`control-plane: starting ${indexes.length} containers, ${limit} in flight`);
  const began = performance.now();
  const containers = await inFlight(indexes, limit, async (index) => {
    const called = performance.now();
    const name = `cp-${String(index).padStart(3, '0')}`;
    const container = await lab.runContainer(name, fleet.home(index).Name);
    starts.callsMs.push(performance.now() - called);
    return container;
  });
  starts.wallSeconds += (performance.now() - began) / 1000;
  return containers;
}

/**
 * Figure 3: SIGKILL the controller (the helper process `startup.sh run` execs)
 * with one attachment per container in place, start `startup.sh run` again at
 * once (OVS and OVN keep running), and time from the kill to each
 * attachment's first ping reply from its gateway.
 */
async function measureRestore(
  lab: BenchLab,
  containers: readonly LabContainer[],
  log: (line: string) => void,
): Promise<Figure> {
  log(`control-plane: restore: killing the controller with ${containers.length} attachments`);
  // Every attachment answers before the kill, so a reply afterwards means "restored".
  await inFlight(containers, 8, (c) =>
    firstReplyAt(c.namespace, homeGateway(c), { intervalSeconds: 0.01, deadlineMs: 10_000 }),
  );
  const pid = await lab.controllerPid();
  const env = await lab.controllerEnvironment(pid);
  const killedAt = wallNow();
  process.kill(pid, 'SIGKILL');
  await waitGone(pid, 10_000);
  while (await lab.controllerListening()) {
    if (wallNow() - killedAt > 10_000)
      throw new Error('restore: the killed controller still listens');
    await sleep(1);
  }
  const goneMs = wallNow() - killedAt;
  await lab.startHelper(env);
  const probes = containers.map((c) =>
    firstReplyAt(c.namespace, homeGateway(c), {
      intervalSeconds: RESTORE_PING_INTERVAL_S,
      deadlineMs: 60_000,
    }),
  );
  let listeningMs = Number.NaN;
  while (wallNow() - killedAt < 60_000) {
    if (await lab.controllerListening()) {
      listeningMs = wallNow() - killedAt;
      break;
    }
    await sleep(5);
  }
  const settled = await Promise.allSettled(probes);
  const failed = settled.flatMap((result, i) =>
    result.status === 'rejected' ? [`${containers[i]!.name}: ${message(result.reason)}`] : [],
  );
  if (failed.length > 0) {
    throw new Error(
      `restore: ${failed.length} of ${containers.length} attachments carried no traffic 60 s after the controller restart (${failed[0]})`,
    );
  }
  const samples = settled.map((result) =>
    result.status === 'fulfilled' ? result.value - killedAt : Number.NaN,
  );
  const reconciled = await settleAfterRestart(lab, killedAt, killedAt + listeningMs, log);
  const summary = summarize(samples);
  log(
    `control-plane: restore: controller listening after ${round(listeningMs)} ms, all ${containers.length} attachments after ${round(summary.max)} ms`,
  );
  return {
    ...base,
    metric: `restore ${containers.length} attachments after a helper restart`,
    unit: 'ms',
    better: 'lower',
    value: summary.max,
    summary,
    raw: samples,
    params: {
      attachments: containers.length,
      method:
        'SIGKILL the controller (the helper process startup.sh execs; OVS/OVN daemons keep running), ' +
        'start `startup.sh run` again in the helper namespace at once (argv and environment as lab up ' +
        'gave them), then per attachment ' +
        `\`ping -c1 -w60 -i${RESTORE_PING_INTERVAL_S} -D\` to its gateway; ms from the kill to each first reply. ` +
        'value = the last attachment (every one carries traffic); summary = per attachment',
      controllerGoneMs: round(goneMs),
      controllerListeningMs: round(listeningMs),
      hostReconciled: reconciled,
    },
  };
}

interface HostLogEvent {
  time: number;
  msg: string;
}

function hostLogEvents(lines: readonly string[], since: number): HostLogEvent[] {
  const events: HostLogEvent[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const event = JSON.parse(line) as Partial<HostLogEvent>;
      if (typeof event.time === 'number' && typeof event.msg === 'string' && event.time >= since) {
        events.push({ time: event.time, msg: event.msg });
      }
    } catch {
      // not a log object
    }
  }
  return events;
}

/**
 * Waits until the lab host is healthy again and its helper watch had time to
 * notice the restart; when the watch started a reconcile (the host logs
 * "helper is back, reconciling"), waits for it to finish. Returns whether
 * one ran.
 */
async function settleAfterRestart(
  lab: BenchLab,
  killedAt: number,
  listeningAt: number,
  log: (line: string) => void,
): Promise<boolean> {
  const deadline = killedAt + 90_000;
  for (;;) {
    const health = await lab.health().catch(() => undefined);
    if (health?.healthy && wallNow() >= listeningAt + SETTLE_AFTER_LISTENING_MS) break;
    if (wallNow() > deadline) {
      const down = health?.components
        .filter((c) => !c.healthy)
        .map((c) => `${c.name}: ${c.detail}`);
      throw new Error(
        `restore: the lab is not healthy 90 s after the controller restart: ${down?.join('; ') ?? 'no answer'}`,
      );
    }
    await sleep(100);
  }
  for (;;) {
    const events = hostLogEvents(await lab.hostLog(), Math.floor(killedAt));
    const began = events.find((e) => e.msg === 'helper is back, reconciling');
    if (!began) return false;
    if (events.some((e) => e.time >= began.time && e.msg === 'reconciled')) return true;
    if (
      events.some((e) => e.time >= began.time && e.msg === 'reconcile after helper restart failed')
    ) {
      throw new Error(
        'restore: the lab host reconcile after the controller restart failed (see its host.log)',
      );
    }
    if (wallNow() > deadline)
      throw new Error('restore: the lab host reconcile did not finish in 90 s');
    log('control-plane: restore: waiting for the lab host to finish its reconcile');
    await sleep(250);
  }
}

/**
 * Figure 1: connect each container (already running, attached to its home
 * network) to `target`, one at a time, and time from the API call to the
 * first ping reply from `target`'s gateway over the new interface; then
 * disconnect it again, untimed.
 */
async function measureConnect(
  lab: BenchLab,
  containers: readonly LabContainer[],
  target: NetworkInspect,
  log: (line: string) => void,
): Promise<Figure> {
  log(`control-plane: connect: ${containers.length} containers to ${target.Name}, one at a time`);
  const samples: number[] = [];
  const callsMs: number[] = [];
  const afterReturnMs: number[] = [];
  for (const container of containers) {
    const called = wallNow();
    await lab.connect(target.Name, container.name);
    const returned = wallNow();
    const reply = await firstReplyAt(container.namespace, gatewayOf(target), {
      intervalSeconds: CONNECT_PING_INTERVAL_S,
      deadlineMs: 10_000,
    });
    samples.push(reply - called);
    callsMs.push(returned - called);
    afterReturnMs.push(reply - returned);
    // Every sample joins the same empty network: the host pushes DNS to each member on connect.
    await lab.disconnect(target.Name, container.name);
  }
  const summary = summarize(samples);
  const calls = summarize(callsMs);
  const afterReturn = summarize(afterReturnMs);
  log(
    `control-plane: connect: p50 ${round(summary.p50)} ms, p99 ${round(summary.p99)} ms (call alone p50 ${round(calls.p50)} ms)`,
  );
  return {
    ...base,
    metric: 'connect (call to first ping reply)',
    unit: 'ms',
    better: 'lower',
    value: summary.p50,
    summary,
    raw: samples,
    params: {
      containers: containers.length,
      method:
        'container running and attached to a home network; POST /v1/networks/NET/connect on host.sock, ' +
        `then in its namespace \`ping -c1 -w10 -i${CONNECT_PING_INTERVAL_S} -D\` to NET's gateway (restarted while the route is missing); ` +
        'ms from the call to the stamped first reply; one connect at a time, disconnected again ' +
        '(untimed) before the next, so each joins the same empty network. ' +
        'callReturn* = the API call alone; replyAfterReturn* = the rest (spawning ping, ARP, first echo)',
      callReturnP50Ms: round(calls.p50, 2),
      callReturnP99Ms: round(calls.p99, 2),
      replyAfterReturnP50Ms: round(afterReturn.p50, 2),
      replyAfterReturnP99Ms: round(afterReturn.p99, 2),
    },
  };
}

/**
 * Figure 2: connect every container to its attach network, `inFlight` calls
 * at a time; the wall time of all the connects. Every new attachment must
 * answer a ping afterwards.
 */
async function measureAttach(
  lab: BenchLab,
  containers: readonly LabContainer[],
  fleet: Fleet,
  budget: ControlPlaneBudget,
  starts: StartLog,
  log: (line: string) => void,
): Promise<Figure> {
  const networks = fleet.networks;
  const networkOf = fleet.target;
  log(
    `control-plane: attach: ${containers.length} containers across ${networks.length} networks, ${budget.inFlight} in flight`,
  );
  const callsMs: number[] = [];
  const began = performance.now();
  await inFlight(containers, budget.inFlight, async (container, index) => {
    const called = performance.now();
    await lab.connect(networkOf(index).Name, container.name);
    callsMs.push(performance.now() - called);
  });
  const seconds = (performance.now() - began) / 1000;

  log('control-plane: attach: checking that every new attachment answers a ping');
  await inFlight(containers, 8, (container, index) =>
    firstReplyAt(container.namespace, gatewayOf(networkOf(index)), {
      intervalSeconds: 0.01,
      deadlineMs: 10_000,
    }),
  );
  const calls = summarize(callsMs);
  const start = summarize(starts.callsMs);
  log(
    `control-plane: attach: ${round(seconds, 2)} s (per call p50 ${round(calls.p50)} ms); starting the containers took ${round(starts.wallSeconds, 1)} s`,
  );
  return {
    ...base,
    metric: `attach ${containers.length} containers across ${networks.length} networks`,
    unit: 's',
    better: 'lower',
    value: seconds,
    params: {
      containers: containers.length,
      networks: networks.length,
      inFlight: budget.inFlight,
      method:
        'one real container (namespace + forwarder) per attachment, already running on one of N ' +
        'separate home networks (the lab API connects at start); POST /v1/networks/NET/connect of ' +
        'container i to network i mod N (every network starts empty and ends with containers/N), ' +
        `${budget.inFlight} calls in flight; wall time from the first call to the last answer. ` +
        'Afterwards every new attachment answered a ping to its gateway. attachCall* = per call, ' +
        'queueing included (the host serialises mutating calls)',
      attachWallPerContainerMs: round((seconds * 1000) / containers.length),
      attachCallP50Ms: round(calls.p50),
      attachCallP99Ms: round(calls.p99),
      networkCreateSeconds: round(fleet.createSeconds, 2),
      startWallSeconds: round(starts.wallSeconds, 2),
      startCallP50Ms: round(start.p50),
      startCallP99Ms: round(start.p99),
      startMethod: `POST /v1/containers (= lab run: namespace, forwarder, attach to its home network), ${budget.inFlight} in flight`,
    },
  };
}

async function measure(
  lab: BenchLab,
  budget: ControlPlaneBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  const fleet = await createFleet(lab, budget.networks, log);
  const target = await createNetwork(lab, 'cp-connect', '198.18.1.0/24');
  const starts: StartLog = { callsMs: [], wallSeconds: 0 };
  const first = await startContainers(
    lab,
    fleet,
    { from: 0, to: budget.connects },
    budget.inFlight,
    starts,
    log,
  );
  const restore = await measureRestore(lab, first, log);
  const connect = await measureConnect(lab, first, target, log);
  const rest = await startContainers(
    lab,
    fleet,
    { from: budget.connects, to: budget.containers },
    budget.inFlight,
    starts,
    log,
  );
  const attach = await measureAttach(lab, [...first, ...rest], fleet, budget, starts, log);
  return [connect, attach, restore];
}

/**
 * The control-plane suite: connect latency (call to first ping reply), the
 * wall time of attaching many containers across many networks, and the time
 * until every attachment carries traffic after the helper's controller is
 * killed and restarted. Brings up its own lab and always takes it down.
 */
export async function runControlPlaneSuite(
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const budget = quick ? QUICK_CONTROL_PLANE_BUDGET : FULL_CONTROL_PLANE_BUDGET;
  if (budget.containers < budget.connects)
    throw new Error('control-plane: budget needs containers >= connects');
  const lab = new BenchLab(LAB);
  log(`control-plane: lab up in ${LAB.dir} (prefix ${LAB.prefix})`);
  const began = performance.now();
  let figures: Figure[] = [];
  let failure: { error: unknown } | undefined;
  try {
    // A lab an interrupted run left running here would make `lab up` refuse.
    await lab.down();
    await lab.up();
    figures = await measure(lab, budget, log);
  } catch (error) {
    failure = { error };
  }
  log('control-plane: lab down');
  try {
    await lab.down();
  } catch (error) {
    if (failure) log(`control-plane: lab down failed too: ${message(error)}`);
    else failure = { error };
  }
  log(`control-plane: done in ${round((performance.now() - began) / 1000)} s`);
  if (failure) throw failure.error;
  return figures;
}
