/**
 * `arca-net network create|ls|inspect|rm|connect|disconnect`: Docker's shape
 * and wording, over the lab host's API. A network is @arca-net/host's
 * `NetworkInspect`, printed as it is by `network inspect`.
 */
import { createInterface } from 'node:readline/promises';
import { type NetworkInspect, OFFLOAD_OPTION, type OffloadPreference } from '@arca-net/host';
import { describeError, ExitCode, UsageError } from '../errors.js';
import { NETWORK_LS_FILTERS, networkMatches, parseFilters } from '../filter.js';
import { formatJson, formatTable, Progress } from '../output.js';
import { parseTemplate, renderTemplate } from '../template.js';
import { type CommandContext, labClient } from './context.js';

/** `k=v` → [k, v]; a bare `k` means an empty value (Docker's rule). */
export function parseLabel(text: string): [string, string] {
  const at = text.indexOf('=');
  const key = at < 0 ? text : text.slice(0, at);
  if (key === '') throw new UsageError(`invalid label '${text}': the key must not be empty`);
  return [key, at < 0 ? '' : text.slice(at + 1)];
}

export interface NetworkCreateOptions {
  /** Every `--subnet` (more than one is refused by the lab host, as Docker's daemon does). */
  subnets?: string[];
  driver?: string;
  /** `-o k=v`, e.g. com.docker.network.driver.mtu=1400. */
  opts?: string[];
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  labels?: string[];
}

export async function networkCreate(
  context: CommandContext,
  name: string,
  options: NetworkCreateOptions,
): Promise<void> {
  const labels = Object.fromEntries((options.labels ?? []).map(parseLabel));
  const opts = Object.fromEntries((options.opts ?? []).map(parseLabel));
  const network = await Progress.run(
    context.io,
    `creating network ${name}`,
    () =>
      labClient(context).createNetwork({
        name,
        subnet: options.subnet,
        ...(options.subnets && options.subnets.length > 1 ? { subnets: options.subnets } : {}),
        ...(options.subnets?.length === 1 ? { subnet: options.subnets[0] } : {}),
        ...(options.driver !== undefined ? { driver: options.driver } : {}),
        ...(options.opts ? { options: opts } : {}),
        gateway: options.gateway,
        ipRange: options.ipRange,
        internal: options.internal,
        labels,
      }),
    true,
  );
  context.io.out(context.json ? formatJson(network) : `${network.Id}\n`);
}

function shortId(id: string): string {
  return id.slice(0, 12);
}

export interface NetworkLsOptions {
  filters?: string[];
  format?: string;
  noTrunc?: boolean;
}

/** A network as `docker network ls --format` sees it (Docker's field names). */
function lsRow(n: NetworkInspect, noTrunc: boolean): Record<string, unknown> {
  return {
    ID: noTrunc ? n.Id : shortId(n.Id),
    Name: n.Name,
    Driver: n.Driver,
    Scope: n.Scope,
    IPv6: n.EnableIPv6,
    Internal: n.Internal,
    Labels: n.Labels,
    CreatedAt: n.Created,
  };
}

const LS_HEADERS = { ID: 'NETWORK ID', CreatedAt: 'CREATED AT' };

export async function networkLs(
  context: CommandContext,
  options: NetworkLsOptions = {},
): Promise<void> {
  const filters = parseFilters(options.filters ?? [], NETWORK_LS_FILTERS);
  const template = options.format ? parseTemplate(options.format) : undefined;
  const networks = (await labClient(context).listNetworks()).filter((n) =>
    networkMatches(n, filters),
  );
  const noTrunc = options.noTrunc === true;
  if (template && !context.quiet) {
    const rows = networks.map((n) => lsRow(n, noTrunc));
    context.io.out(renderTemplate(template, rows, LS_HEADERS));
    return;
  }
  if (context.json) {
    context.io.out(formatJson(networks));
    return;
  }
  if (context.quiet) {
    context.io.out(networks.map((n) => `${noTrunc ? n.Id : shortId(n.Id)}\n`).join(''));
    return;
  }
  context.io.out(
    formatTable(
      ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'INTERNAL', 'CONTAINERS'],
      networks.map((n) => [
        shortId(n.Id),
        n.Name,
        n.Driver,
        n.IPAM.Config[0]?.Subnet ?? '',
        n.IPAM.Config[0]?.Gateway ?? '',
        n.Internal ? 'yes' : 'no',
        String(Object.keys(n.Containers).length),
      ]),
    ),
  );
}

export async function networkInspect(context: CommandContext, refs: string[]): Promise<void> {
  const client = labClient(context);
  const networks = await Promise.all(refs.map((ref) => client.inspectNetwork(ref)));
  context.io.out(formatJson(networks));
}

/** Removes each network, going on past failures as Docker does; exit 1 when any failed. */
export async function networkRm(context: CommandContext, refs: string[]): Promise<number> {
  const client = labClient(context);
  let failed = 0;
  for (const ref of refs) {
    try {
      await client.removeNetwork(ref);
      context.io.out(`${ref}\n`);
    } catch (error) {
      failed++;
      const [message, code] = describeError(error);
      // Unreachable lab: every other name would fail the same way.
      if (code === ExitCode.unavailable) throw error;
      context.io.err(`${message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** `network prune`: removes unused networks (with every `label=` filter), after a prompt unless forced. */
export async function networkPrune(
  context: CommandContext,
  options: { filters?: string[]; force?: boolean },
): Promise<number> {
  const filters = parseFilters(options.filters ?? [], ['label']);
  if (!options.force) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(
      'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ',
    );
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) return 0;
  }
  const { deleted } = await labClient(context).pruneNetworks({
    labels: filters.get('label') ?? [],
  });
  if (context.json) context.io.out(formatJson(deleted));
  else if (deleted.length > 0) context.io.out(`Deleted Networks:\n${deleted.join('\n')}\n`);
  return 0;
}

export async function networkConnect(
  context: CommandContext,
  network: string,
  container: string,
  options: { ip?: string; aliases?: string[]; gwPriority?: string; driverOpts?: string[] },
): Promise<void> {
  let offload: OffloadPreference | undefined;
  for (const opt of options.driverOpts ?? []) {
    const [key, value] = [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)];
    if (key !== OFFLOAD_OPTION || !opt.includes('=')) {
      throw new UsageError(`invalid --driver-opt "${opt}": only ${OFFLOAD_OPTION}=auto|on|off`);
    }
    offload = value as OffloadPreference;
  }
  const gwPriority = options.gwPriority === undefined ? undefined : Number(options.gwPriority);
  if (gwPriority !== undefined && !Number.isSafeInteger(gwPriority)) {
    throw new UsageError(
      `invalid argument "${options.gwPriority}" for "--gw-priority": not an integer`,
    );
  }
  const connected = await Progress.run(
    context.io,
    `connecting ${container} to ${network}`,
    () =>
      labClient(context).connect(network, {
        container,
        ip: options.ip,
        aliases: options.aliases,
        ...(gwPriority !== undefined ? { gwPriority } : {}),
        ...(offload !== undefined ? { offload } : {}),
      }),
    context.quiet,
  );
  if (context.json) context.io.out(formatJson(connected));
}

export async function networkDisconnect(
  context: CommandContext,
  network: string,
  container: string,
): Promise<void> {
  const disconnected = await Progress.run(
    context.io,
    `disconnecting ${container} from ${network}`,
    () => labClient(context).disconnect(network, { container }),
    context.quiet,
  );
  if (context.json) context.io.out(formatJson(disconnected));
}
