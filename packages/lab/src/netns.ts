/**
 * Network namespaces through iproute2 (`ip netns …`): the lab's stand-ins
 * for VMs.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';

/** Names of every named network namespace on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await runCommand(['ip', 'netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** Creates `name` with its loopback up. */
export async function createNamespace(name: string): Promise<void> {
  await runCommand(['ip', 'netns', 'add', name]);
  try {
    await runCommand(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await deleteNamespace(name);
    throw error;
  }
}

/** Deletes `name` (its TAP devices go with it); no error when it is absent. */
export async function deleteNamespace(name: string): Promise<void> {
  if (!(await listNamespaces()).includes(name)) return;
  await runCommand(['ip', 'netns', 'delete', name]);
}

/** Process ids running in `name` (empty when the namespace is absent). */
export async function namespacePids(name: string): Promise<number[]> {
  try {
    const { stdout } = await runCommand(['ip', 'netns', 'pids', name]);
    return stdout
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** The per-namespace config directory that `ip netns exec` bind-mounts over /etc. */
export function namespaceEtc(name: string): string {
  return join('/etc/netns', name);
}

/**
 * Makes `/etc/resolv.conf` inside `name` point at `nameserver` (ip netns exec
 * bind-mounts `/etc/netns/<name>/resolv.conf` over it).
 */
export async function setNamespaceResolver(name: string, nameserver: string): Promise<void> {
  await mkdir(namespaceEtc(name), { recursive: true });
  await writeFile(join(namespaceEtc(name), 'resolv.conf'), `nameserver ${nameserver}\n`);
}

/** Removes `/etc/netns/<name>`. */
export async function removeNamespaceEtc(name: string): Promise<void> {
  await rm(namespaceEtc(name), { recursive: true, force: true });
}
