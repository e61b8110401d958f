/**
 * The ovs-docker port manager: watches Docker events through the Engine API
 * (dockerode on the Docker socket) and plugs containers labelled
 * `arca-net.ovs.bridge` into OVS on `start` (the same ports as `ovs-docker
 * add-port`, through {@link OvsDocker}), and out on `die`/`stop`/`destroy`.
 * At start-up and after every reconnection it reconciles: running labelled
 * containers without a port get one, ports of containers that are gone or
 * stopped are removed. Events and reconciliations run one at a time. When
 * the engine goes away it reconnects with exponential backoff. Every action
 * is logged (pino) and counted (Prometheus text on `/metrics`).
 */
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@arca-net/log';
import { silentLogger } from '@arca-net/log';
import Dockerode from 'dockerode';
import { createToolRunner, type ToolRunner } from '../ovn/exec.js';
import { type AddPortOptions, OvsDocker, OvsDockerError } from './ovs-docker.js';
import { vlanProblem } from './validate.js';
import { LABEL, type WatchConfig } from './watch-config.js';

/** What the manager counts. */
export interface PortManagerCounters {
  /** Ports added. */
  plugs: number;
  /** Ports removed. */
  unplugs: number;
  /** Plugs, unplugs or reconciliations that failed. */
  failures: number;
  /** Times the event stream was (re)opened after the first. */
  reconnects: number;
}

export interface PortManagerOptions {
  config: WatchConfig;
  logger?: Logger;
  /** Runs ovs-vsctl and ip (default: the real tools). */
  run?: ToolRunner;
}

/** Docker's event actions the manager acts on. */
const ACTIONS = ['start', 'die', 'stop', 'destroy'] as const;

interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string };
}

function message(error: unknown): string {
  if (error instanceof OvsDockerError) return error.lines.join('; ');
  return error instanceof Error ? error.message : String(error);
}

export class PortManager {
  readonly counters: PortManagerCounters = { plugs: 0, unplugs: 0, failures: 0, reconnects: 0 };
  private readonly docker: Dockerode;
  private readonly ovsDocker: OvsDocker;
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private stopping = new AbortController();
  private stream: NodeJS.ReadableStream | undefined;
  private loop: Promise<void> | undefined;
  private metricsServer: Server | undefined;
  /** Resolves after each completed reconciliation (tests and `start` wait on it). */
  private reconciled: { count: number; waiters: (() => void)[] } = { count: 0, waiters: [] };

  constructor(private readonly options: PortManagerOptions) {
    this.log = (options.logger ?? silentLogger).child({ component: 'ovs-docker-watch' });
    this.docker = new Dockerode({ socketPath: options.config.dockerSocket });
    this.ovsDocker = new OvsDocker({
      run: options.run ?? createToolRunner({ timeoutMs: 61_000 }),
      db: options.config.ovsdb,
      containerPid: async (id) => (await this.docker.getContainer(id).inspect()).State.Pid,
    });
  }

  /** Starts the metrics server (when configured) and the event loop; returns at once. */
  async start(): Promise<void> {
    const { metrics } = this.options.config;
    if (metrics) {
      this.metricsServer = createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.metricsText());
      });
      await new Promise<void>((resolve, reject) => {
        this.metricsServer?.once('error', reject);
        this.metricsServer?.listen(metrics.port, metrics.host, resolve);
      });
      this.log.info({ metrics: this.metricsAddress() }, 'serving counters on /metrics');
    }
    this.loop = this.run();
  }

  /** `host:port` of the metrics server, or undefined. */
  metricsAddress(): string | undefined {
    const address = this.metricsServer?.address();
    return address && typeof address === 'object'
      ? `${address.address}:${address.port}`
      : undefined;
  }

  /** Resolves once `count` reconciliations have completed since start. */
  async waitReconciled(count = 1): Promise<void> {
    if (this.reconciled.count >= count) return;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.reconciled.count >= count) resolve();
        else this.reconciled.waiters.push(check);
      };
      check();
    });
  }

  /** Stops watching; the running action finishes first. */
  async stop(): Promise<void> {
    this.stopping.abort();
    (this.stream as { destroy?: () => void } | undefined)?.destroy?.();
    await this.loop;
    await this.queue;
    await new Promise<void>((resolve) => {
      if (!this.metricsServer) return resolve();
      this.metricsServer.close(() => resolve());
      this.metricsServer.closeAllConnections();
    });
    this.log.info({ counters: this.counters }, 'stopped');
  }

  /** The counters in Prometheus' text format. */
  metricsText(): string {
    const rows: [keyof PortManagerCounters, string][] = [
      ['plugs', 'Ports added to OVS for containers.'],
      ['unplugs', 'Ports of containers removed from OVS.'],
      ['failures', 'Plugs, unplugs and reconciliations that failed.'],
      ['reconnects', 'Times the Docker event stream was opened again.'],
    ];
    return rows
      .map(([key, help]) => {
        const name = `arca_net_ovs_docker_${key}_total`;
        return `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${this.counters[key]}\n`;
      })
      .join('');
  }

  /** Subscribe, reconcile, consume events; on loss of the engine, back off and start again. */
  private async run(): Promise<void> {
    const [first, largest] = this.options.config.backoffMs;
    let delay = first;
    let opened = 0;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const stream = await this.docker.getEvents({
          filters: { type: ['container'], event: [...ACTIONS] },
        });
        this.stream = stream;
        if (opened++ > 0) this.counters.reconnects++;
        this.log.info({ socket: this.options.config.dockerSocket }, 'watching Docker events');
        // Subscribed first, then reconciled: an event during reconciliation waits in the queue.
        const ended = this.consume(stream);
        this.enqueue(() => this.reconcile());
        delay = first;
        await ended;
        if (!signal.aborted) this.log.warn('Docker event stream ended');
      } catch (error) {
        if (signal.aborted) break;
        this.log.warn(
          { err: message(error), retryMs: delay, socket: this.options.config.dockerSocket },
          'Docker Engine unreachable',
        );
      }
      if (signal.aborted) break;
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      delay = Math.min(delay * 2, largest);
    }
  }

  /** Reads newline-separated JSON events until the stream ends. */
  private consume(stream: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve) => {
      let buffer = '';
      stream.on('data', (chunk: Buffer | string) => {
        buffer += chunk.toString();
        let newline = buffer.indexOf('\n');
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) this.onEvent(line);
          newline = buffer.indexOf('\n');
        }
      });
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', (error) => {
        this.log.warn({ err: message(error) }, 'Docker event stream failed');
        resolve();
      });
    });
  }

  private onEvent(line: string): void {
    let event: DockerEvent;
    try {
      event = JSON.parse(line) as DockerEvent;
    } catch {
      this.log.warn({ line: line.slice(0, 200) }, 'unreadable Docker event');
      return;
    }
    const action = event.Action ?? event.status;
    const id = event.Actor?.ID ?? event.id;
    if ((event.Type ?? 'container') !== 'container' || !id) return;
    this.log.debug({ action, container: id }, 'Docker event');
    if (action === 'start') this.enqueue(() => this.plug(id));
    else if (action === 'die' || action === 'stop' || action === 'destroy') {
      this.enqueue(() => this.unplug(id, action));
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((error: unknown) => {
      this.counters.failures++;
      this.log.error({ err: message(error) }, 'action failed');
    });
  }

  /** Adds the port of a labelled running container that has none. */
  private async plug(id: string): Promise<void> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (error) {
      this.log.info({ container: id, err: message(error) }, 'container gone before it was plugged');
      return;
    }
    const labels = info.Config.Labels ?? {};
    if (!(LABEL.bridge in labels) || !info.State.Running) return;
    const name = info.Name.replace(/^\//, '');
    const bridge = labels[LABEL.bridge] || this.options.config.defaultBridge;
    const iface = labels[LABEL.iface] || this.options.config.defaultInterface;
    const vlan = labels[LABEL.vlan];
    const log = this.log.child({ container: info.Id, name, bridge, iface });
    try {
      if (!bridge) throw new Error(`label ${LABEL.bridge} is empty and no default bridge is set`);
      if (vlan && vlanProblem(vlan)) throw new Error(`label ${LABEL.vlan}: ${vlanProblem(vlan)}`);
      if ((await this.ovsDocker.ports.find(info.Id, iface)).length > 0) {
        log.debug('already plugged');
        return;
      }
      const options: AddPortOptions = {
        ipaddress: labels[LABEL.ip],
        macaddress: labels[LABEL.mac],
        gateway: labels[LABEL.gateway],
        mtu: labels[LABEL.mtu],
      };
      const port = await this.ovsDocker.addPort(bridge, iface, info.Id, options);
      if (vlan) {
        try {
          await this.ovsDocker.setVlan(bridge, iface, info.Id, vlan);
        } catch (error) {
          await this.ovsDocker.delPort(bridge, iface, info.Id).catch(() => undefined);
          throw error;
        }
      }
      this.counters.plugs++;
      log.info({ port, ...options, vlan }, 'plugged');
    } catch (error) {
      this.counters.failures++;
      log.error({ err: message(error) }, 'plug failed');
    }
  }

  /** Removes every port of container `id`. */
  private async unplug(id: string, why: string): Promise<void> {
    try {
      const ports = await this.ovsDocker.delPorts('', id);
      this.counters.unplugs += ports.length;
      if (ports.length > 0) this.log.info({ container: id, ports, why }, 'unplugged');
    } catch (error) {
      this.counters.failures++;
      this.log.error({ container: id, err: message(error), why }, 'unplug failed');
    }
  }

  /** Plugs running labelled containers without ports; removes ports of containers not running. */
  private async reconcile(): Promise<void> {
    try {
      const containers = await this.docker.listContainers({ all: true });
      const running = containers.filter((c) => c.State === 'running');
      for (const c of running) {
        if (LABEL.bridge in (c.Labels ?? {})) await this.plug(c.Id);
      }
      const isRunning = (containerId: string): boolean =>
        running.some(
          (c) =>
            c.Id === containerId ||
            (containerId.length >= 12 && c.Id.startsWith(containerId)) ||
            c.Names.some((n) => n.replace(/^\//, '') === containerId),
        );
      const orphans = new Set(
        (await this.ovsDocker.ports.all())
          .filter((p) => !p.controllerTap)
          .map((p) => p.containerId)
          .filter((containerId) => !isRunning(containerId)),
      );
      for (const containerId of orphans) await this.unplug(containerId, 'reconcile');
      this.log.info(
        { running: running.length, removedFor: [...orphans] },
        'reconciled with Docker',
      );
    } catch (error) {
      this.counters.failures++;
      this.log.error({ err: message(error) }, 'reconciliation failed');
    } finally {
      this.reconciled.count++;
      const waiters = this.reconciled.waiters;
      this.reconciled.waiters = [];
      for (const waiter of waiters) waiter();
    }
  }
}
