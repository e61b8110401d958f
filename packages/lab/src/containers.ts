/**
 * Lab containers: each "container VM" is a network namespace (loopback up,
 * `/etc/resolv.conf` → the embedded DNS on 127.0.0.11) running the forwarder,
 * which listens on `unixdir:<lab>/vms/c-<name>` (port 5555 = `5555.sock`).
 * Used by the lab host process; the records live in `<lab>/containers.json`.
 * Failures are the host's errors (FORWARDER_UNAVAILABLE, LAB_UNAVAILABLE).
 */
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, NetworkBackendError } from '@arca-net/host';
import type { Logger } from '@arca-net/log';
import { FORWARDER_CONTROL_PORT } from '@arca-net/proto';
import { inNamespace } from './command.js';
import {
  createNamespace,
  deleteNamespace,
  namespacePids,
  removeNamespaceEtc,
  setNamespaceResolver,
} from './netns.js';
import type { LabPaths } from './paths.js';
import { processAlive, readPidfile, spawnDetached, stopPidfile, stopProcess } from './processes.js';
import { forwarderMain } from './programs.js';
import { waitListening } from './sockets.js';

/** Address of the embedded DNS server in every container. */
export const EMBEDDED_DNS = '127.0.0.11';

/** A lab container as the lab host records it. */
export interface LabContainerRecord {
  name: string;
  id: string;
  namespace: string;
  /** `unixdir:` endpoint of its forwarder. */
  endpoint: string;
  created: string;
  /** `lab stop`: the namespace and forwarder are gone until `lab start`. */
  stopped?: boolean;
}

/** Docker's container name rule. */
export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** Starts, stops and remembers the lab's container namespaces and their forwarders. */
export class LabContainers {
  private records = new Map<string, LabContainerRecord>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly paths: LabPaths,
    private readonly logger: Logger,
    private readonly readyTimeoutMs = 30_000,
  ) {}

  private get file(): string {
    return join(this.paths.dir, 'containers.json');
  }

  /** Loads the records a previous run of the lab host wrote. */
  async load(): Promise<void> {
    try {
      const list = JSON.parse(await readFile(this.file, 'utf8')) as LabContainerRecord[];
      this.records = new Map(list.map((record) => [record.name, record]));
    } catch {
      this.records = new Map();
    }
  }

  /** Writes the records atomically; concurrent saves run one after another. */
  private save(): Promise<void> {
    const write = async (): Promise<void> => {
      const tmp = `${this.file}.tmp`;
      await writeFile(tmp, `${JSON.stringify([...this.records.values()], null, 2)}\n`);
      await rename(tmp, this.file);
    };
    const next = this.saving.then(write, write);
    this.saving = next.catch(() => undefined);
    return next;
  }

  list(): LabContainerRecord[] {
    return [...this.records.values()].sort((a, b) => a.created.localeCompare(b.created));
  }

  /** The container called `ref`, or whose id starts with `ref`. */
  find(ref: string): LabContainerRecord | undefined {
    const byName = this.records.get(ref);
    if (byName) return byName;
    if (ref.length < 3) return undefined;
    const byId = this.list().filter((record) => record.id.startsWith(ref));
    return byId.length === 1 ? byId[0] : undefined;
  }

  /** The forwarder's pid, or 0 when it is not running. */
  async pid(record: LabContainerRecord): Promise<number> {
    const pid = await readPidfile(this.paths.containerPidfile(record.name));
    return pid !== undefined && (await processAlive(pid)) ? pid : 0;
  }

  /**
   * Creates the namespace and starts the forwarder in it; resolves once its
   * control socket accepts connections. On failure nothing is left behind.
   */
  async start(name: string, id: string): Promise<LabContainerRecord> {
    return this.launch({
      name,
      id,
      namespace: this.paths.containerNamespace(id),
      endpoint: `unixdir:${this.paths.containerVmDir(name)}`,
      created: new Date().toISOString(),
    });
  }

  /** `lab stop`: the "VM" goes away (forwarder, namespace, TAPs); the record stays. */
  async stop(record: LabContainerRecord): Promise<LabContainerRecord> {
    await this.destroy(record);
    const stopped = { ...record, stopped: true };
    this.records.set(record.name, stopped);
    await this.save();
    return stopped;
  }

  /** `lab start`: the same container's "VM" comes back (a new namespace and forwarder). */
  async restart(record: LabContainerRecord): Promise<LabContainerRecord> {
    const { stopped: _, ...running } = record;
    return this.launch(running);
  }

  private async launch(record: LabContainerRecord): Promise<LabContainerRecord> {
    const { name, namespace } = record;
    const vmDir = this.paths.containerVmDir(name);
    const log = this.logger.child({ container: name, namespace });
    try {
      await access(forwarderMain);
    } catch {
      throw errors.labUnavailable(
        `the forwarder is not built (${forwarderMain}): run 'make build'`,
      );
    }
    try {
      await createNamespace(namespace);
      await setNamespaceResolver(namespace, EMBEDDED_DNS);
      await mkdir(vmDir, { recursive: true });
      const pid = await this.spawnForwarder(record);
      this.records.set(name, record);
      await this.save();
      log.info({ pid }, 'container started');
      return record;
    } catch (error) {
      await this.destroy(record).catch((cleanup: unknown) =>
        log.warn({ err: cleanup }, 'cleanup failed'),
      );
      throw error;
    }
  }

  /**
   * A forwarder that died (its namespace still there) runs again; resolves
   * with its pid once its control socket accepts. The host library's
   * forwarder watch then re-applies the container's attachments.
   */
  async respawn(record: LabContainerRecord): Promise<number> {
    return this.spawnForwarder(record);
  }

  /** Starts the forwarder in the record's namespace and waits until it listens. */
  private async spawnForwarder(record: LabContainerRecord): Promise<number> {
    const { name, namespace } = record;
    const vmDir = this.paths.containerVmDir(name);
    const pid = await spawnDetached(
      inNamespace(namespace, [
        process.execPath,
        forwarderMain,
        '--listen',
        record.endpoint,
        '--dns',
        `${EMBEDDED_DNS}:53`,
      ]),
      {
        logFile: this.paths.log(`c-${name}`),
        pidfile: this.paths.containerPidfile(name),
        env: { ...process.env, ARCA_NET_LOG_FORMAT: 'json' },
      },
    );
    const socket = join(vmDir, `${FORWARDER_CONTROL_PORT}.sock`);
    const outcome = await waitListening(pid, socket, {
      timeoutMs: this.readyTimeoutMs,
      intervalMs: 50,
    });
    if (outcome !== 'listening') {
      throw new NetworkBackendError(
        'FORWARDER_UNAVAILABLE',
        `forwarder of ${name} ${outcome === 'exited' ? 'exited' : 'did not listen in time'} (log: ${this.paths.log(`c-${name}`)})`,
      );
    }
    return pid;
  }

  /** Stops the forwarder, deletes the namespace (and its TAPs) and forgets the container. */
  async remove(record: LabContainerRecord): Promise<void> {
    await this.destroy(record);
    this.records.delete(record.name);
    await this.save();
  }

  private async destroy(record: LabContainerRecord): Promise<void> {
    await stopPidfile(this.paths.containerPidfile(record.name), this.paths.dir);
    for (const pid of await namespacePids(record.namespace)) await stopProcess(pid);
    await deleteNamespace(record.namespace);
    await removeNamespaceEtc(record.namespace);
    await rm(this.paths.containerVmDir(record.name), { recursive: true, force: true });
  }
}
