/**
 * A cluster lab (`lab up --hosts N`) runs every host's lab host process in
 * the machine's one root namespace, so host K's published-port listeners
 * share it with every other host's: a host port one host publishes is taken
 * for all. A real cluster has no such clash (each host has its own
 * addresses); the lab says so in Docker's words instead of the bare
 * "address already in use" of a stranger: `Bind for 0.0.0.0:8080 failed:
 * port is already allocated` with the host and container that hold it.
 */
import { NetworkBackendError } from '@arca-net/host';
import { hostPaths, LabClient, readLabSettings } from '@arca-net/lab';
import type { CommandContext } from './context.js';

/** `listen tcp4 0.0.0.0:8080: bind: address already in use` → its parts. */
const LISTEN = /listen (tcp|udp)4 ([0-9.]+):(\d+):/;

const overlaps = (a: string, b: string) => a === b || a === '0.0.0.0' || b === '0.0.0.0';

/**
 * `error` as PORT_ALREADY_ALLOCATED (still the lab host's answer) naming the other host whose
 * container publishes the port, when that is why the listener could not
 * bind; else `error` itself.
 */
export async function explainClusterPortClash(
  context: CommandContext,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof NetworkBackendError) || error.code !== 'PORT_IN_USE' || !context.lab) {
    return error;
  }
  const match = LISTEN.exec(error.message);
  if (!match) return error;
  const [, protocol, hostIp = '', port] = match;
  const { root, host } = context.lab;
  const hosts = (await readLabSettings(root))?.hosts ?? 1;
  for (let k = 1; k <= hosts; k++) {
    if (k === host) continue;
    const containers = await new LabClient(hostPaths(root, k).hostSocket)
      .listContainers()
      .catch(() => []);
    for (const c of containers) {
      const p = c.ports.find(
        (b) => b.protocol === protocol && String(b.hostPort) === port && overlaps(b.hostIp, hostIp),
      );
      if (p) {
        return new NetworkBackendError(
          'PORT_ALREADY_ALLOCATED',
          `Bind for ${hostIp}:${port} failed: port is already allocated (host ${k} of this lab publishes it for container ${c.name}; the lab's hosts share this machine's ports)`,
          { cause: error.cause },
        );
      }
    }
  }
  return error;
}
