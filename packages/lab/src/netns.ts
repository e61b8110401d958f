/**
 * Network namespaces through iproute2 (`ip netns …`): the lab's stand-ins
 * for VMs, by name, and {@link NetworkNamespace}, a handle on one that this
 * process made (the integration tests' VMs and peers).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CommandOptions,
  type CommandResult,
  inNamespace,
  runCommand,
  tryCommand,
} from './command.js';
import { type PingOptions, type PingResult, ping } from './probes/ping.js';

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

let namesGiven = 0;

/**
 * A suffix no other process running now and no earlier call of this process
 * has: this process's pid and a counter, in base 36 (at most 7 characters
 * for pids below 36^5), so that names made from it stay short enough for
 * interface names.
 */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36)}${(namesGiven++).toString(36)}`;
}

/** A network namespace this process created: runs tools in it, and deletes it. */
export class NetworkNamespace {
  private constructor(readonly name: string) {}

  /** Creates namespace `name` with its loopback up. */
  static async create(name: string): Promise<NetworkNamespace> {
    await createNamespace(name);
    return new NetworkNamespace(name);
  }

  /** Runs argv inside the namespace; rejects with a `CommandError` unless it exits 0. */
  run(argv: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    return runCommand(inNamespace(this.name, argv), options);
  }

  /** Runs argv inside the namespace; never rejects (a failure is in `code` and `stderr`). */
  try(argv: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    return tryCommand(inNamespace(this.name, argv), options);
  }

  /** `ip -n NAME ARGS…`: iproute2 on the namespace, from outside it. */
  ip(args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    return runCommand(['ip', '-n', this.name, ...args], options);
  }

  /** Pings `target` from inside the namespace; never rejects for lost replies. */
  ping(target: string, options: PingOptions): Promise<PingResult> {
    return ping(this.name, target, options);
  }

  /** Deletes the namespace (its interfaces go with it); no error when it is gone. */
  delete(): Promise<void> {
    return deleteNamespace(this.name);
  }
}
