/**
 * Network namespaces through iproute2 (`ip netns …`): the lab's stand-ins
 * for VMs.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';

const IP = 'ip';

/** Names of every named network namespace on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const out = await runCommand(IP, ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

/** Creates `name` with its loopback up. */
export async function createNamespace(name: string): Promise<void> {
  await runCommand(IP, ['netns', 'add', name]);
  try {
    await runCommand(IP, ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await deleteNamespace(name);
    throw error;
  }
}

/** Deletes `name` (its TAP devices go with it); no error when it is absent. */
export async function deleteNamespace(name: string): Promise<void> {
  if (!(await listNamespaces()).includes(name)) return;
  await runCommand(IP, ['netns', 'delete', name]);
}

/** Process ids running in `name` (empty when the namespace is absent). */
export async function namespacePids(name: string): Promise<number[]> {
  try {
    const out = await runCommand(IP, ['netns', 'pids', name]);
    return out
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** argv that runs `command` inside `name` (for spawn). */
export function inNamespace(name: string, command: readonly string[]): string[] {
  return [IP, 'netns', 'exec', name, ...command];
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

/** What a command run in a namespace did. */
export interface NamespaceRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` inside `name`, collecting its output; never rejects for a non-zero exit. */
export function runInNamespace(
  name: string,
  command: readonly string[],
  timeoutMs = 30_000,
): Promise<NamespaceRun> {
  return new Promise((resolve) => {
    execFile(
      IP,
      ['netns', 'exec', name, ...command],
      { timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
