/**
 * `arca-net lab up|down|status|run|exec|rm|ps|stats`.
 */

import { spawn } from 'node:child_process';
import { errors, type OffloadPreference, RELAY_ENGINES, type RelayEngine } from '@arca-net/host';
import {
  checkPrerequisites,
  hostPaths,
  inNamespace,
  LabClient,
  type LabContainer,
  labDown,
  labStatus,
  labUp,
  MAX_LAB_HOSTS,
  readLabSettings,
  requireRunningLab,
} from '@arca-net/lab';
import { UsageError } from '../errors.js';
import { CROSS, formatJson, formatTable, Progress, TICK } from '../output.js';
import { explainClusterPortClash } from './cluster-ports.js';
import { type CommandContext, labClient, labProgress } from './context.js';
import { DROP_PLACES_HEADER, dropPlacesRow } from './drops.js';
import { formatPortsColumn } from './ports.js';

/** `lab up`'s flags as parsed (validated here). */
export interface LabUpFlags {
  hostRelay?: string;
  dns?: string[];
  hosts?: string;
  offload?: boolean;
}

export async function labUpCommand(
  context: CommandContext,
  { hostRelay, dns, hosts, offload = false }: LabUpFlags = {},
): Promise<void> {
  const count = Number(hosts ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > MAX_LAB_HOSTS) {
    throw new UsageError(`lab up: --hosts must be 1..${MAX_LAB_HOSTS} (got '${hosts}')`);
  }
  if (hostRelay !== undefined && !(RELAY_ENGINES as readonly string[]).includes(hostRelay)) {
    throw new UsageError(
      `lab up: --host-relay must be one of ${RELAY_ENGINES.join(', ')} (got '${hostRelay}')`,
    );
  }
  await labUp(context.paths, {
    progress: labProgress(context),
    hostRelay: hostRelay as RelayEngine | undefined,
    ...(dns?.length ? { dnsUpstreams: dns } : {}),
    hosts: count,
    offload: offload ? 'auto' : 'off',
  });
  if (!context.quiet) context.io.err(`lab is up in ${context.paths.dir}\n`);
  if (!context.quiet) context.io.out(`export DOCKER_HOST=unix://${context.paths.dockerSocket}\n`);
}

export async function labDownCommand(context: CommandContext): Promise<void> {
  await checkPrerequisites();
  const result = await labDown(context.paths, { progress: labProgress(context) });
  if (context.json) context.io.out(formatJson(result));
}

export async function labStatusCommand(context: CommandContext): Promise<void> {
  const status = await labStatus(context.paths);
  if (context.json) {
    context.io.out(formatJson(status));
  } else {
    context.io.out(
      formatTable(
        ['COMPONENT', 'STATE', 'DETAIL'],
        status.components.map((c) => [
          c.name,
          c.healthy ? `${TICK} ok` : `${CROSS} down`,
          c.detail,
        ]),
      ),
    );
  }
  if (!status.running) {
    throw errors.labUnavailable(
      status.components.length === 1
        ? `no lab is running in ${context.paths.dir}`
        : 'the lab is not healthy',
    );
  }
}

function addresses(container: LabContainer): string {
  return container.attachments.map((a) => `${a.networkName}=${a.ip}`).join(', ');
}

export async function labRunCommand(
  context: CommandContext,
  name: string,
  options: {
    network?: string;
    ip?: string;
    aliases?: string[];
    publish?: string[];
    offload?: string;
  },
): Promise<void> {
  await requireRunningLab(context.paths);
  const container = await Progress.run(
    context.io,
    `starting container ${name}${options.network ? ` on ${options.network}` : ''}`,
    () =>
      labClient(context)
        .runContainer({
          name,
          network: options.network,
          ip: options.ip,
          aliases: options.aliases,
          publish: options.publish,
          ...(options.offload ? { offload: options.offload as OffloadPreference } : {}),
        })
        .catch(async (error: unknown) => {
          throw await explainClusterPortClash(context, error);
        }),
    context.quiet,
  );
  if (context.json) context.io.out(formatJson(container));
  else {
    context.io.out(`${container.id}\n`);
    if (!context.quiet) context.io.err(`  ${name}: ${addresses(container)}\n`);
  }
}

export async function labRmCommand(context: CommandContext, names: string[]): Promise<void> {
  await requireRunningLab(context.paths);
  for (const name of names) {
    await Progress.run(
      context.io,
      `removing container ${name}`,
      () => labClient(context).removeContainer(name),
      context.quiet,
    );
    context.io.out(`${name}\n`);
  }
}

export async function labPsCommand(context: CommandContext): Promise<void> {
  await requireRunningLab(context.paths);
  // A cluster (`lab up --hosts N`): every host's containers, with a HOST column.
  const hosts = (await readLabSettings(context.paths))?.hosts ?? 1;
  if (hosts > 1) {
    const rows: Array<LabContainer & { host: number }> = [];
    for (let k = 1; k <= hosts; k++) {
      const client = new LabClient(hostPaths(context.paths, k).hostSocket);
      for (const c of await client.listContainers()) rows.push({ ...c, host: k });
    }
    if (context.json) context.io.out(formatJson(rows));
    else context.io.out(psTable(rows, true));
    return;
  }
  const containers = await labClient(context).listContainers();
  if (context.json) {
    context.io.out(formatJson(containers));
    return;
  }
  context.io.out(psTable(containers, false));
}

function psTable(containers: Array<LabContainer & { host?: number }>, withHost: boolean): string {
  return formatTable(
    [
      ...(withHost ? ['HOST'] : []),
      'CONTAINER ID',
      'NAME',
      'STATUS',
      'NAMESPACE',
      'NETWORKS',
      'PORTS',
    ],
    containers.map((c) => [
      ...(withHost ? [String(c.host)] : []),
      c.id.slice(0, 12),
      c.name,
      c.state === 'running' ? `running (pid ${c.pid})` : 'exited',
      c.namespace,
      c.attachments.map((a) => `${a.networkName} ${a.device} ${a.ip}`).join(', '),
      formatPortsColumn(c.ports ?? []),
    ]),
  );
}

/** The host relay counters of a container's attachments as a table (`lab stats`). */
export function formatStats(container: LabContainer): string {
  return formatTable(
    [
      'NETWORK',
      'DEVICE',
      'PORT',
      'CONNECTED',
      'FRAMING',
      'FRAMES OUT',
      'BYTES OUT',
      'FRAMES IN',
      'BYTES IN',
      'DROPS',
      'PROTO ERRS',
      'QUARANTINED',
      ...DROP_PLACES_HEADER,
    ],
    container.attachments.map((a) => {
      // OUT: from the container towards the switch; IN: towards the container.
      const out = a.relay?.toHelper;
      const into = a.relay?.toContainer;
      return [
        a.networkName,
        a.device,
        a.port === null ? '-' : String(a.port),
        a.relay?.connected ? 'yes' : 'no',
        a.framing ?? 'plain',
        String(out?.frames ?? 0),
        String(out?.bytes ?? 0),
        String(into?.frames ?? 0),
        String(into?.bytes ?? 0),
        String((out?.drops ?? 0) + (into?.drops ?? 0)),
        String(a.relay?.protocolCloses ?? 0),
        a.relay?.quarantinedUntil
          ? `until ${a.relay.quarantinedUntil.slice(11, 19)} (${a.relay.quarantines}x)`
          : String(a.relay?.quarantines ?? 0),
        ...dropPlacesRow(a.drops),
      ];
    }),
  );
}

export async function labStatsCommand(context: CommandContext, name: string): Promise<void> {
  await requireRunningLab(context.paths);
  const container = await labClient(context).containerStats(name);
  context.io.out(context.json ? formatJson(container) : formatStats(container));
}

/** Runs `command` in `container`'s namespace with the terminal attached; resolves with its exit code. */
export async function labExecCommand(
  context: CommandContext,
  name: string,
  command: string[],
): Promise<number> {
  await requireRunningLab(context.paths);
  const container = await labClient(context).inspectContainer(name);
  if (container.state !== 'running') throw errors.containerNotRunning(name);
  const [file, ...args] = inNamespace(container.namespace, command);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(file ?? 'ip', args, { stdio: 'inherit' });
    // Stopping `lab exec` stops its command too (a terminal's ^C reaches both anyway).
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map(
      (signal) => [signal, forward(signal)] as const,
    );
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once('error', (error) => {
      done();
      reject(error);
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? (signal ? 128 + signalNumber(signal) : 1));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGINT: 2,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGHUP: 1,
  };
  return numbers[signal] ?? 1;
}
