/**
 * The CLI's side of the lab host API: typed calls over `<lab>/host.sock`.
 */
import { request } from 'node:http';
import type {
  ConnectBody,
  ContainerStats,
  ContainerView,
  CreateNetworkBody,
  DisconnectBody,
  ErrorBody,
  LabHealth,
  NetworkView,
  RunBody,
} from './api.js';
import { ApiError, type ApiErrorCode } from './api.js';

/** The lab host is not there (no socket, nobody listening). */
export class HostUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    cause: string,
  ) {
    super(`cannot reach the lab host at ${socketPath}: ${cause}`);
    this.name = 'HostUnreachableError';
  }
}

/** Typed client of the lab host. */
export class HostClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 120_000,
  ) {}

  health(timeoutMs?: number): Promise<LabHealth> {
    return this.call('GET', '/v1/health', undefined, timeoutMs);
  }
  listNetworks(): Promise<NetworkView[]> {
    return this.call('GET', '/v1/networks');
  }
  createNetwork(body: CreateNetworkBody): Promise<NetworkView> {
    return this.call('POST', '/v1/networks', body);
  }
  inspectNetwork(ref: string): Promise<NetworkView> {
    return this.call('GET', `/v1/networks/${encodeURIComponent(ref)}`);
  }
  removeNetwork(ref: string): Promise<NetworkView> {
    return this.call('DELETE', `/v1/networks/${encodeURIComponent(ref)}`);
  }
  connect(network: string, body: ConnectBody): Promise<ContainerView> {
    return this.call('POST', `/v1/networks/${encodeURIComponent(network)}/connect`, body);
  }
  disconnect(network: string, body: DisconnectBody): Promise<ContainerView> {
    return this.call('POST', `/v1/networks/${encodeURIComponent(network)}/disconnect`, body);
  }
  listContainers(): Promise<ContainerView[]> {
    return this.call('GET', '/v1/containers');
  }
  runContainer(body: RunBody): Promise<ContainerView> {
    return this.call('POST', '/v1/containers', body);
  }
  inspectContainer(name: string): Promise<ContainerView> {
    return this.call('GET', `/v1/containers/${encodeURIComponent(name)}`);
  }
  removeContainer(name: string): Promise<ContainerView> {
    return this.call('DELETE', `/v1/containers/${encodeURIComponent(name)}`);
  }
  containerStats(name: string): Promise<ContainerStats> {
    return this.call('GET', `/v1/containers/${encodeURIComponent(name)}/stats`);
  }
  async shutdown(): Promise<void> {
    await this.call('POST', '/v1/shutdown', undefined, 5000);
  }

  private call<T>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
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
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(
                new ApiError(
                  'internal',
                  `lab host sent a response that is not JSON: ${text.slice(0, 200)}`,
                ),
              );
              return;
            }
            if ((response.statusCode ?? 500) >= 400) {
              const error = (parsed as Partial<ErrorBody>).error;
              const code: ApiErrorCode = error?.code ?? 'internal';
              reject(
                new ApiError(code, error?.message ?? `lab host answered ${response.statusCode}`),
              );
              return;
            }
            resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
          reject(new HostUnreachableError(this.socketPath, error.code));
        } else {
          reject(error);
        }
      });
      req.end(payload);
    });
  }
}
