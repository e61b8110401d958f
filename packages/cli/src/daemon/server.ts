/**
 * The lab host's HTTP server on a Unix socket: routes JSON requests to a
 * {@link LabService} and maps its errors to statuses. No logic of its own.
 */

import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '@arca-net/log';
import {
  ApiError,
  ApiErrorStatus,
  type ConnectBody,
  type ContainerStats,
  type ContainerView,
  type CreateNetworkBody,
  type DisconnectBody,
  type ErrorBody,
  type LabHealth,
  type NetworkView,
  type RunBody,
} from './api.js';

/** What the lab host does; the server only translates HTTP to these calls. */
export interface LabService {
  health(): Promise<LabHealth>;
  listNetworks(): Promise<NetworkView[]>;
  createNetwork(body: CreateNetworkBody): Promise<NetworkView>;
  inspectNetwork(ref: string): Promise<NetworkView>;
  removeNetwork(ref: string): Promise<NetworkView>;
  connect(network: string, body: ConnectBody): Promise<ContainerView>;
  disconnect(network: string, body: DisconnectBody): Promise<ContainerView>;
  listContainers(): Promise<ContainerView[]>;
  runContainer(body: RunBody): Promise<ContainerView>;
  inspectContainer(name: string): Promise<ContainerView>;
  removeContainer(name: string): Promise<ContainerView>;
  containerStats(name: string): Promise<ContainerStats>;
}

type Handler = (params: string[], body: unknown) => Promise<unknown>;
interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const SEGMENT = '([^/]+)';

function routes(service: LabService, shutdown: () => void): Route[] {
  const route = (method: string, path: string, handler: Handler): Route => ({
    method,
    pattern: new RegExp(`^${path.replaceAll(':p', SEGMENT)}$`),
    handler,
  });
  const first = (params: string[]): string => decodeURIComponent(params[0] ?? '');
  return [
    route('GET', '/v1/health', () => service.health()),
    route('GET', '/v1/networks', () => service.listNetworks()),
    route('POST', '/v1/networks', (_, body) =>
      service.createNetwork(objectBody<CreateNetworkBody>(body)),
    ),
    route('GET', '/v1/networks/:p', (p) => service.inspectNetwork(first(p))),
    route('DELETE', '/v1/networks/:p', (p) => service.removeNetwork(first(p))),
    route('POST', '/v1/networks/:p/connect', (p, body) =>
      service.connect(first(p), objectBody<ConnectBody>(body)),
    ),
    route('POST', '/v1/networks/:p/disconnect', (p, body) =>
      service.disconnect(first(p), objectBody<DisconnectBody>(body)),
    ),
    route('GET', '/v1/containers', () => service.listContainers()),
    route('POST', '/v1/containers', (_, body) => service.runContainer(objectBody<RunBody>(body))),
    route('GET', '/v1/containers/:p', (p) => service.inspectContainer(first(p))),
    route('DELETE', '/v1/containers/:p', (p) => service.removeContainer(first(p))),
    route('GET', '/v1/containers/:p/stats', (p) => service.containerStats(first(p))),
    route('POST', '/v1/shutdown', async () => {
      setImmediate(shutdown);
      return {};
    }),
  ];
}

function objectBody<T>(body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('invalid', 'request body must be a JSON object');
  }
  return body as T;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > 1024 * 1024) throw new ApiError('invalid', 'request body too large');
    chunks.push(buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ApiError('invalid', 'request body is not valid JSON');
  }
}

function send(response: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Maps any error to the API's error kinds (ApiError as is; anything else is internal). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError('internal', error instanceof Error ? error.message : String(error));
}

/** Starts serving `service` on the Unix socket `path` (replacing a stale socket file). */
export async function serveLabApi(
  service: LabService,
  path: string,
  options: { logger: Logger; onShutdown: () => void },
): Promise<Server> {
  const table = routes(service, options.onShutdown);
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://lab');
    const method = request.method ?? 'GET';
    const matches = table.filter((r) => r.pattern.test(url.pathname));
    const match = matches.find((r) => r.method === method);
    void (async () => {
      const started = performance.now();
      try {
        if (!match) {
          throw new ApiError(
            matches.length > 0 ? 'invalid' : 'notFound',
            `no route ${method} ${url.pathname}`,
          );
        }
        const params = (match.pattern.exec(url.pathname) ?? []).slice(1);
        const result = await match.handler(params, await readBody(request));
        send(response, 200, result);
        options.logger.debug(
          { method, path: url.pathname, ms: performance.now() - started },
          'request',
        );
      } catch (error) {
        const apiError = toApiError(error);
        const body: ErrorBody = { error: { code: apiError.code, message: apiError.message } };
        send(response, ApiErrorStatus[apiError.code], body);
        const level = apiError.code === 'internal' ? 'error' : 'info';
        options.logger[level](
          { method, path: url.pathname, err: apiError.message },
          'request failed',
        );
      }
    })();
  });
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
