/**
 * `arca-net network create|ls|inspect|rm|connect|disconnect`: Docker's shape
 * and wording, over the lab host's API.
 */
import type { NetworkView } from '../daemon/api.js';
import { UsageError } from '../errors.js';
import { formatJson, formatTable, Progress } from '../output.js';
import { type CommandContext, hostClient } from './context.js';

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
      hostClient(context).createNetwork({
        name,
        subnet: options.subnet,
        gateway: options.gateway,
        ipRange: options.ipRange,
        internal: options.internal,
        labels,
      }),
    true,
  );
  context.io.out(context.json ? formatJson(network) : `${network.id}\n`);
}

function shortId(id: string): string {
  return id.slice(0, 12);
}

export async function networkLs(context: CommandContext): Promise<void> {
  const networks = await hostClient(context).listNetworks();
  if (context.json) {
    context.io.out(formatJson(networks));
    return;
  }
  if (context.quiet) {
    context.io.out(networks.map((n) => `${shortId(n.id)}\n`).join(''));
    return;
  }
  context.io.out(
    formatTable(
      ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'INTERNAL', 'CONTAINERS'],
      networks.map((n) => [
        shortId(n.id),
        n.name,
        n.driver,
        n.subnet,
        n.gateway,
        n.internal ? 'yes' : 'no',
        String(n.containers.length),
      ]),
    ),
  );
}

/** The shape of `docker network inspect`. */
export function dockerInspectShape(network: NetworkView): Record<string, unknown> {
  const config: Record<string, string> = { Subnet: network.subnet, Gateway: network.gateway };
  if (network.ipRange) config.IPRange = network.ipRange;
  return {
    Name: network.name,
    Id: network.id,
    Created: network.created ?? '',
    Scope: 'local',
    Driver: network.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [config] },
    Internal: network.internal,
    Attachable: true,
    Containers: Object.fromEntries(
      network.containers.map((c) => [
        c.containerId,
        {
          Name: c.container,
          EndpointID: `${c.containerId.slice(0, 12)}-${network.id.slice(0, 12)}`,
          MacAddress: c.macAddress,
          IPv4Address: c.ipv4Address,
          IPv6Address: '',
          Aliases: c.aliases,
          Device: c.device,
        },
      ]),
    ),
    Options: {},
    Labels: network.labels,
  };
}

export async function networkInspect(context: CommandContext, refs: string[]): Promise<void> {
  const client = hostClient(context);
  const networks = await Promise.all(refs.map((ref) => client.inspectNetwork(ref)));
  context.io.out(formatJson(networks.map(dockerInspectShape)));
}

export async function networkRm(context: CommandContext, refs: string[]): Promise<void> {
  const client = hostClient(context);
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
  const view = await Progress.run(
    context.io,
    `connecting ${container} to ${network}`,
    () =>
      hostClient(context).connect(network, { container, ip: options.ip, aliases: options.aliases }),
    context.quiet,
  );
  if (context.json) context.io.out(formatJson(view));
}

export async function networkDisconnect(
  context: CommandContext,
  network: string,
  container: string,
): Promise<void> {
  const view = await Progress.run(
    context.io,
    `disconnecting ${container} from ${network}`,
    () => hostClient(context).disconnect(network, { container }),
    context.quiet,
  );
  if (context.json) context.io.out(formatJson(view));
}
