/**
 * The lab host's HTTP server on a Unix socket: finds the route of a request
 * in {@link LAB_ROUTES}, calls the {@link LabApi} method it names, and
 * answers with its result or its error. No logic of its own.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errors } from '@arca-net/host';
import type { Logger } from '@arca-net/log';
import { listenUnix } from '../sockets.js';
import {
  argumentsOf,
  asBackendError,
  errorResponse,
  LAB_ROUTES,
  type LabApi,
  type LabRoute,
} from './routes.js';

const ROUTES = Object.entries(LAB_ROUTES) as [keyof LabApi, LabRoute][];

/** The method and arguments of a request, or an INVALID_OPTION error. */
function dispatch(method: string, path: string, body: unknown): [keyof LabApi, unknown[]] {
  for (const [name, route] of ROUTES) {
    if (route.method !== method) continue;
    const args = argumentsOf(route, path, body);
    if (args === undefined) continue;
    if (route.body && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw errors.invalidOption('request body must be a JSON object');
    }
    return [name, args];
  }
  throw errors.invalidOption(`no route ${method} ${path}`);
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > 1024 * 1024) throw errors.invalidOption('request body too large');
    chunks.push(buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw errors.invalidOption('request body is not valid JSON');
  }
}

function send(response: ServerResponse, status: number, value: unknown): void {
  if (value === undefined) {
    response.writeHead(204);
    response.end();
    return;
  }
  const text = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Starts serving `api` on the Unix socket `path` (replacing a stale socket file). */
export async function serveLabApi(
  api: LabApi,
  path: string,
  options: { logger: Logger },
): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://lab');
    const method = request.method ?? 'GET';
    void (async () => {
      const started = performance.now();
      try {
        const [name, args] = dispatch(method, url.pathname, await readBody(request));
        const call = api[name] as (...args: unknown[]) => Promise<unknown>;
        send(response, 200, await call.apply(api, args));
        options.logger.debug(
          { method, path: url.pathname, ms: performance.now() - started },
          'request',
        );
      } catch (failure) {
        const error = asBackendError(failure);
        const { status, body } = errorResponse(error);
        send(response, status, body);
        options.logger[error.kind === 'internal' ? 'error' : 'info'](
          { method, path: url.pathname, code: error.code, err: error.message },
          'request failed',
        );
      }
    })();
  });
  await listenUnix(server, path);
  return server;
}
