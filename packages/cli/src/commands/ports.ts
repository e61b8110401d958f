/**
 * `arca-net lab port NAME [PORT[/PROTO]]`: a container's published ports,
 * printed as `docker port` prints them, and the PORTS column of `lab ps`.
 */
import type { PublishedPort } from '@arca-net/host';
import { requireRunningLab } from '@arca-net/lab';
import { formatJson } from '../output.js';
import { type CommandContext, labClient } from './context.js';

/** `docker ps`'s PORTS column: `0.0.0.0:8080->80/tcp, …`. */
export function formatPortsColumn(ports: readonly PublishedPort[]): string {
  return ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', ');
}

export async function labPortCommand(
  context: CommandContext,
  name: string,
  port?: string,
): Promise<void> {
  await requireRunningLab(context.paths);
  const client = labClient(context);
  const ports =
    port === undefined ? await client.containerPorts(name) : await client.containerPort(name, port);
  if (context.json) {
    context.io.out(formatJson(ports));
    return;
  }
  // `docker port NAME` prints `80/tcp -> 0.0.0.0:8080`; with a port, only `0.0.0.0:8080`.
  const lines = ports.map((p) =>
    port === undefined
      ? `${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}`
      : `${p.hostIp}:${p.hostPort}`,
  );
  if (lines.length > 0) context.io.out(`${lines.join('\n')}\n`);
}
