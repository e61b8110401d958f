/**
 * The client of the lab host's API over `<lab>/host.sock`: each call builds
 * its request from {@link LAB_ROUTES}, and an error answer becomes the
 * host's own error again (`NetworkBackendError` with the answered code).
 */
import { request } from 'node:http';
import {
  type CreateNetworkOptions,
  errors,
  type NetworkInspect,
  type PublishedPort,
} from '@arca-net/host';
import {
  asBackendError,
  type ConnectBody,
  type DisconnectBody,
  errorFromResponse,
  LAB_ROUTES,
  type LabApi,
  type LabContainer,
  type LabHealth,
  type PruneBody,
  type PruneResult,
  type RunBody,
  requestOf,
} from './routes.js';

/** What a client waits for; a lab host that does not answer in time is LAB_FAILED. */
export interface LabClientOptions {
  /** Bound of each call (default 120 s: `lab run` starts a forwarder). */
  timeoutMs?: number;
}

/**
 * Typed client of the lab host. Rejects with the host's errors: the lab
 * host's answer (see `answeredByLabHost`), LAB_UNAVAILABLE when nothing
 * listens on the socket, LAB_FAILED when the answer is not the API's.
 */
export class LabClient implements LabApi {
  constructor(
    readonly socketPath: string,
    private readonly options: LabClientOptions = {},
  ) {}

  /** The lab host's health, component by component. */
  health(): Promise<LabHealth> {
    return this.#call('health');
  }
  /** Every network (`network ls`). */
  listNetworks(): Promise<NetworkInspect[]> {
    return this.#call('listNetworks');
  }
  /** Creates a network (`network create`). */
  createNetwork(body: CreateNetworkOptions): Promise<NetworkInspect> {
    return this.#call('createNetwork', body);
  }
  /** One network by name, id or unique id prefix (`network inspect`). */
  inspectNetwork(ref: string): Promise<NetworkInspect> {
    return this.#call('inspectNetwork', ref);
  }
  /** Removes a network without endpoints (`network rm`). */
  removeNetwork(ref: string): Promise<void> {
    return this.#call('removeNetwork', ref);
  }
  /** Connects a running lab container to a network; resolves with the container. */
  connect(network: string, body: ConnectBody): Promise<LabContainer> {
    return this.#call('connect', network, body);
  }
  /** Disconnects a lab container from a network; resolves with the container. */
  disconnect(network: string, body: DisconnectBody): Promise<LabContainer> {
    return this.#call('disconnect', network, body);
  }
  /** Every lab container (`lab ps`). */
  listContainers(): Promise<LabContainer[]> {
    return this.#call('listContainers');
  }
  /** Starts a lab container and connects it (`lab run`). */
  runContainer(body: RunBody): Promise<LabContainer> {
    return this.#call('runContainer', body);
  }
  /** One lab container by name or unique id prefix, with its relay counters. */
  inspectContainer(ref: string): Promise<LabContainer> {
    return this.#call('inspectContainer', ref);
  }
  /** The same, plus where each attachment's frames were dropped (`lab stats`). */
  containerStats(ref: string): Promise<LabContainer> {
    return this.#call('containerStats', ref);
  }
  /** Disconnects a lab container everywhere and removes it (`lab rm`). */
  removeContainer(ref: string): Promise<LabContainer> {
    return this.#call('removeContainer', ref);
  }
  /** Stops a lab container's VM stand-in, keeping its addresses (`lab stop`). */
  stopContainer(ref: string): Promise<LabContainer> {
    return this.#call('stopContainer', ref);
  }
  /** Starts a stopped lab container again (`lab start`). */
  startContainer(ref: string): Promise<LabContainer> {
    return this.#call('startContainer', ref);
  }
  /** Stops and starts a lab container (`lab restart`). */
  restartContainer(ref: string): Promise<LabContainer> {
    return this.#call('restartContainer', ref);
  }
  /** Removes unused networks (`network prune`). */
  pruneNetworks(body: PruneBody): Promise<PruneResult> {
    return this.#call('pruneNetworks', body);
  }
  /** A lab container's published ports (`lab port NAME`). */
  containerPorts(ref: string): Promise<PublishedPort[]> {
    return this.#call('containerPorts', ref);
  }
  /** The published ports of one container port, `PORT[/PROTO]` (`lab port NAME PORT`). */
  containerPort(ref: string, port: string): Promise<PublishedPort[]> {
    return this.#call('containerPort', ref, port);
  }
  /** Asks the lab host to stop. */
  shutdown(): Promise<void> {
    return this.#call('shutdown');
  }

  #call<K extends keyof LabApi>(name: K, ...args: Parameters<LabApi[K]>): ReturnType<LabApi[K]> {
    return this.#send(name, args) as ReturnType<LabApi[K]>;
  }

  #send(name: keyof LabApi, args: readonly unknown[]): Promise<unknown> {
    const route = LAB_ROUTES[name];
    const { path, body } = requestOf(route, args);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    const what = `${route.method} ${path}`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method: route.method,
          path,
          headers: payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {},
          timeout: timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const status = response.statusCode ?? 500;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch (error) {
              reject(errors.labFailed(`the lab host's answer to ${what} is not JSON`, error));
              return;
            }
            if (status >= 400) reject(errorFromResponse(what, status, parsed));
            else resolve(parsed);
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(errors.labFailed(`the lab host did not answer ${what} within ${timeoutMs} ms`)),
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
          reject(
            errors.labUnavailable(
              "the lab is not running (no lab host answers): start it with 'arca-net lab up'",
              error,
            ),
          );
        } else {
          reject(asBackendError(error));
        }
      });
      req.end(payload);
    });
  }
}
