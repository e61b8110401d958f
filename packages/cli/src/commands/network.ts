/**
 * `arca-net network create|ls|inspect|rm|connect|disconnect`: Docker's shape
 * and wording, over the lab host's API. A network is @arca-net/host's
 * `NetworkInspect`, printed as it is by `network inspect`.
 */
import { UsageError } from '../errors.js';
import { formatJson, formatTable, Progress } from '../output.js';
import { type CommandContext, labClient } from './context.js';

/** `k=v` → [k, v]; a bare `k` means an empty value (Docker's rule). */
export function parseLabel(text: string): [string, string] {
  const at = text.indexOf('=');
  const key = at < 0 ? text : text.slice(0, at);
  if (key === '') throw new UsageError(`invalid label '${text}': the key must not be empty`);
  return [key, at < 0 ? '' : text.slice(at + 1)];
}

export interface NetworkCreateOptions {
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
  const network = await Progress.run(
    context.io,
    `creating network ${name}`,
    () =>
      labClient(context).createNetwork({
        name,
        subnet: options.subnet,
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

export async function networkLs(context: CommandContext): Promise<void> {
  const networks = await labClient(context).listNetworks();
  if (context.json) {
    context.io.out(formatJson(networks));
    return;
  }
  if (context.quiet) {
    context.io.out(networks.map((n) => `${shortId(n.Id)}\n`).join(''));
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

export async function networkRm(context: CommandContext, refs: string[]): Promise<void> {
  const client = labClient(context);
  for (const ref of refs) {
    await Progress.run(
      context.io,
      `removing network ${ref}`,
      () => client.removeNetwork(ref),
      true,
    );
    context.io.out(`${ref}\n`);
  }
}

export async function networkConnect(
  context: CommandContext,
  network: string,
  container: string,
  options: { ip?: string; aliases?: string[] },
): Promise<void> {
  const connected = await Progress.run(
    context.io,
    `connecting ${container} to ${network}`,
    () =>
      labClient(context).connect(network, { container, ip: options.ip, aliases: options.aliases }),
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
