/**
 * `arca-net lab up|down|status|run|exec|rm|ps|stats`.
 */
import { spawn } from 'node:child_process';
import { RELAY_ENGINES, type RelayEngine } from '@arca-net/host';
import type { ContainerStats, ContainerView } from '../daemon/api.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { checkPrerequisites, hostRunning, labDown, labStatus, labUp } from '../lab/lab.js';
import { inNamespace } from '../lab/netns.js';
import { CROSS, formatJson, formatTable, Progress, TICK } from '../output.js';
import { type CommandContext, hostClient } from './context.js';

export async function labUpCommand(context: CommandContext, hostRelay?: string): Promise<void> {
  if (hostRelay !== undefined && !(RELAY_ENGINES as readonly string[]).includes(hostRelay)) {
    throw new UsageError(
      `lab up: --host-relay must be one of ${RELAY_ENGINES.join(', ')} (got '${hostRelay}')`,
    );
  }
  await labUp(context.paths, context.io, {
    quiet: context.quiet,
    hostRelay: hostRelay as RelayEngine | undefined,
  });
  if (!context.quiet) context.io.err(`lab is up in ${context.paths.dir}\n`);
}

export async function labDownCommand(context: CommandContext): Promise<void> {
  await checkPrerequisites();
  const result = await labDown(context.paths, context.io, { quiet: context.quiet });
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
    throw new CliError(
      status.components.length === 1
        ? `no lab is running in ${context.paths.dir}`
        : 'the lab is not healthy',
      ExitCode.unavailable,
    );
  }
}

/** Throws the "start the lab first" error when no lab host answers. */
async function requireLab(context: CommandContext): Promise<void> {
  if (!(await hostRunning(context.paths))) {
    throw new CliError(
      `no lab is running in ${context.paths.dir}: start it with 'arca-net lab up'`,
      ExitCode.unavailable,
    );
  }
}

function addresses(view: ContainerView): string {
  return view.networks.map((n) => `${n.network}=${n.ipAddress}`).join(', ');
}

export async function labRunCommand(
  context: CommandContext,
  name: string,
  options: { network?: string; ip?: string; aliases?: string[] },
): Promise<void> {
  await requireLab(context);
  const view = await Progress.run(
    context.io,
    `starting container ${name}${options.network ? ` on ${options.network}` : ''}`,
    () =>
      hostClient(context).runContainer({
        name,
        network: options.network,
        ip: options.ip,
        aliases: options.aliases,
      }),
    context.quiet,
  );
  if (context.json) context.io.out(formatJson(view));
  else {
    context.io.out(`${view.id}\n`);
    if (!context.quiet) context.io.err(`  ${name}: ${addresses(view)}\n`);
  }
}

export async function labRmCommand(context: CommandContext, names: string[]): Promise<void> {
  await requireLab(context);
  for (const name of names) {
    await Progress.run(
      context.io,
      `removing container ${name}`,
      () => hostClient(context).removeContainer(name),
      context.quiet,
    );
    context.io.out(`${name}\n`);
  }
}

export async function labPsCommand(context: CommandContext): Promise<void> {
  await requireLab(context);
  const containers = await hostClient(context).listContainers();
  if (context.json) {
    context.io.out(formatJson(containers));
    return;
  }
  context.io.out(
    formatTable(
      ['CONTAINER ID', 'NAME', 'STATUS', 'NAMESPACE', 'NETWORKS'],
      containers.map((c) => [
        c.id.slice(0, 12),
        c.name,
        c.state === 'running' ? `running (pid ${c.pid})` : 'exited',
        c.namespace,
        c.networks.map((n) => `${n.network} ${n.device} ${n.ipAddress}`).join(', '),
      ]),
    ),
  );
}

/** Formats relay counters as a table (`lab stats`). */
export function formatStats(stats: ContainerStats): string {
  return formatTable(
    [
      'NETWORK',
      'DEVICE',
      'PORT',
      'CONNECTED',
      'FRAMES OUT',
      'BYTES OUT',
      'FRAMES IN',
      'BYTES IN',
      'DROPS',
    ],
    stats.networks.map((n) => [
      n.network,
      n.device,
      n.port === undefined ? '-' : String(n.port),
      n.connected ? 'yes' : 'no',
      String(n.fromContainer.frames),
      String(n.fromContainer.bytes),
      String(n.toContainer.frames),
      String(n.toContainer.bytes),
      String(n.fromContainer.drops + n.toContainer.drops),
    ]),
  );
}

export async function labStatsCommand(context: CommandContext, name: string): Promise<void> {
  await requireLab(context);
  const stats = await hostClient(context).containerStats(name);
  context.io.out(context.json ? formatJson(stats) : formatStats(stats));
}

/** Runs `command` in `container`'s namespace with the terminal attached; resolves with its exit code. */
export async function labExecCommand(
  context: CommandContext,
  name: string,
  command: string[],
): Promise<number> {
  await requireLab(context);
  const view = await hostClient(context).inspectContainer(name);
  if (view.state !== 'running') throw new CliError(`container ${name} is not running`);
  const [file, ...args] = inNamespace(view.namespace, command);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(file ?? 'ip', args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)),
    );
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
