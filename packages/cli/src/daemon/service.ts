/**
 * The lab host's service: lab containers (namespaces + forwarders) on one
 * side, the embedded network backend on the other. `lab run` is "start the
 * container VM, register it, connect it", rolled back as a whole on failure.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@arca-net/log';
import { CONTAINER_NAME, type LabContainerRecord, type LabContainers } from '../lab/containers.js';
import {
  ApiError,
  type ApiErrorCode,
  type ComponentHealth,
  type ConnectBody,
  type ContainerNetworkView,
  type ContainerStats,
  type ContainerView,
  type CreateNetworkBody,
  type DisconnectBody,
  type LabHealth,
  type NetworkView,
  type RunBody,
} from './api.js';
import type { LabService } from './server.js';

/** The network backend as the lab host needs it (an adapter over `OvsNetworkBackend`). */
export interface NetworkBackendPort {
  health(): Promise<ComponentHealth[]>;
  createNetwork(body: CreateNetworkBody): Promise<NetworkView>;
  listNetworks(): Promise<NetworkView[]>;
  inspectNetwork(ref: string): Promise<NetworkView>;
  removeNetwork(ref: string): Promise<NetworkView>;
  /** Registers a running container VM reachable at `endpoint`. */
  addContainer(container: { id: string; name: string; endpoint: string }): Promise<void>;
  /** Disconnects the container from every network and forgets it. */
  removeContainer(id: string): Promise<void>;
  connect(
    containerId: string,
    network: string,
    options: { ip?: string; aliases?: string[] },
  ): Promise<void>;
  disconnect(containerId: string, network: string): Promise<void>;
  containerNetworks(containerId: string): Promise<ContainerNetworkView[]>;
  containerStats(containerId: string): Promise<ContainerStats['networks']>;
  close(): Promise<void>;
}

/** The network `lab run` uses without `--network` (Docker's default bridge subnet). */
export const DEFAULT_NETWORK: CreateNetworkBody = { name: 'bridge', subnet: '172.17.0.0/16' };

const KIND_TO_CODE: Record<string, ApiErrorCode> = {
  invalid: 'invalid',
  'not-found': 'notFound',
  conflict: 'conflict',
  forbidden: 'forbidden',
  unavailable: 'unavailable',
  internal: 'internal',
};

/** Maps backend errors (which carry a `kind`) to the API's error kinds. */
export function backendError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) {
    const kind = (error as { kind?: unknown }).kind;
    const code = typeof kind === 'string' ? KIND_TO_CODE[kind] : undefined;
    return new ApiError(code ?? 'internal', error.message);
  }
  return new ApiError('internal', String(error));
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw backendError(error);
  }
}

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ApiError('invalid', `${what} must be a list of strings`);
  }
  return value as string[];
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ApiError('invalid', `${what} must be a string`);
  return value;
}

function requiredString(value: unknown, what: string): string {
  const text = optionalString(value, what);
  if (text === undefined) throw new ApiError('invalid', `${what} is required`);
  return text;
}

/** Serialises operations on one key (a container name), so `run x` twice cannot race. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** {@link LabService} over lab containers and a network backend. */
export class LabHostService implements LabService {
  private readonly locks = new KeyedLock();

  constructor(
    private readonly containers: LabContainers,
    private readonly backend: NetworkBackendPort,
    private readonly logger: Logger,
  ) {}

  async health(): Promise<LabHealth> {
    const components = await this.backend
      .health()
      .catch((error: unknown) => [
        { name: 'network backend', healthy: false, detail: backendError(error).message },
      ]);
    const list = this.containers.list();
    let running = 0;
    for (const record of list) if ((await this.containers.pid(record)) > 0) running++;
    components.push({
      name: 'containers',
      healthy: running === list.length,
      detail: `${running} of ${list.length} forwarders running`,
    });
    return { healthy: components.every((c) => c.healthy), components };
  }

  listNetworks(): Promise<NetworkView[]> {
    return mapped(() => this.backend.listNetworks());
  }

  createNetwork(body: CreateNetworkBody): Promise<NetworkView> {
    const request: CreateNetworkBody = { name: requiredString(body.name, 'name') };
    const subnet = optionalString(body.subnet, 'subnet');
    const gateway = optionalString(body.gateway, 'gateway');
    const ipRange = optionalString(body.ipRange, 'ipRange');
    if (subnet) request.subnet = subnet;
    if (gateway) request.gateway = gateway;
    if (ipRange) request.ipRange = ipRange;
    if (body.internal === true) request.internal = true;
    if (body.labels !== undefined) {
      if (typeof body.labels !== 'object' || body.labels === null)
        throw new ApiError('invalid', 'labels must be an object');
      request.labels = body.labels;
    }
    return this.locks.run('network', () => mapped(() => this.backend.createNetwork(request)));
  }

  inspectNetwork(ref: string): Promise<NetworkView> {
    return mapped(() => this.backend.inspectNetwork(ref));
  }

  removeNetwork(ref: string): Promise<NetworkView> {
    return mapped(() => this.backend.removeNetwork(ref));
  }

  private record(ref: string): LabContainerRecord {
    const record = this.containers.find(ref);
    if (!record) throw new ApiError('notFound', `No such container: ${ref}`);
    return record;
  }

  async connect(network: string, body: ConnectBody): Promise<ContainerView> {
    const record = this.record(requiredString(body.container, 'container'));
    const ip = optionalString(body.ip, 'ip');
    const aliases = stringList(body.aliases, 'aliases');
    return this.locks.run(record.name, async () => {
      await mapped(() => this.backend.connect(record.id, network, { ip, aliases }));
      return this.view(record);
    });
  }

  async disconnect(network: string, body: DisconnectBody): Promise<ContainerView> {
    const record = this.record(requiredString(body.container, 'container'));
    return this.locks.run(record.name, async () => {
      await mapped(() => this.backend.disconnect(record.id, network));
      return this.view(record);
    });
  }

  async listContainers(): Promise<ContainerView[]> {
    return Promise.all(this.containers.list().map((record) => this.view(record)));
  }

  async runContainer(body: RunBody): Promise<ContainerView> {
    const name = requiredString(body.name, 'name');
    if (!CONTAINER_NAME.test(name)) {
      throw new ApiError(
        'invalid',
        `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at most 63 characters)`,
      );
    }
    const ip = optionalString(body.ip, 'ip');
    const aliases = stringList(body.aliases, 'aliases');
    const requested = optionalString(body.network, 'network');
    return this.locks.run(name, async () => {
      const existing = this.containers.find(name);
      if (existing?.name === name) {
        throw new ApiError(
          'conflict',
          `Conflict. The container name "/${name}" is already in use by container "${existing.id}"`,
        );
      }
      const network = requested ?? (await this.defaultNetwork());
      // Fail fast on an unknown network, before anything is made.
      await mapped(() => this.backend.inspectNetwork(network));
      const id = randomBytes(32).toString('hex');
      const record = await mapped(() => this.containers.start(name, id));
      try {
        await mapped(() => this.backend.addContainer({ id, name, endpoint: record.endpoint }));
        await mapped(() => this.backend.connect(id, network, { ip, aliases }));
      } catch (error) {
        await this.backend.removeContainer(id).catch(() => undefined);
        await this.containers.remove(record).catch(() => undefined);
        throw error;
      }
      return this.view(record);
    });
  }

  private async defaultNetwork(): Promise<string> {
    return this.locks.run('network', async () => {
      const networks = await mapped(() => this.backend.listNetworks());
      if (!networks.some((n) => n.name === DEFAULT_NETWORK.name)) {
        this.logger.info({ network: DEFAULT_NETWORK }, 'creating the default lab network');
        await mapped(() => this.backend.createNetwork(DEFAULT_NETWORK));
      }
      return DEFAULT_NETWORK.name;
    });
  }

  async inspectContainer(name: string): Promise<ContainerView> {
    return this.view(this.record(name));
  }

  async removeContainer(name: string): Promise<ContainerView> {
    const record = this.record(name);
    return this.locks.run(record.name, async () => {
      const view = await this.view(record);
      await mapped(() => this.backend.removeContainer(record.id));
      await mapped(() => this.containers.remove(record));
      return { ...view, state: 'exited' as const };
    });
  }

  async containerStats(name: string): Promise<ContainerStats> {
    const record = this.record(name);
    return {
      name: record.name,
      networks: await mapped(() => this.backend.containerStats(record.id)),
    };
  }

  private async view(record: LabContainerRecord): Promise<ContainerView> {
    const pid = await this.containers.pid(record);
    const networks = await mapped(() => this.backend.containerNetworks(record.id)).catch(() => []);
    return {
      name: record.name,
      id: record.id,
      namespace: record.namespace,
      pid,
      state: pid > 0 ? 'running' : 'exited',
      endpoint: record.endpoint,
      networks,
    };
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}
