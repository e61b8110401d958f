/**
 * Docker's Engine API (networks and lab containers) on `<lab>/docker.sock`,
 * for Docker's own CLI: `DOCKER_HOST=unix://<lab>/docker.sock docker network
 * ls`. One route table; every path also under a version prefix
 * (`/v1.41/...`, from {@link MIN_API_VERSION} to {@link API_VERSION});
 * errors are Docker's status and `{"message": …}`. No request can stop the
 * server: every failure becomes an answer.
 */
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@arca-net/log';
import { listenUnix } from '../sockets.js';
import { DockerContainers } from './containers.js';
import { DockerApiError, dockerErrorOf } from './errors.js';
import { type DockerBackend, DockerNetworks } from './networks.js';
import { DockerNotes } from './notes.js';

export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.12';
const SERVER_VERSION = '20.10.24-arca-net';
const MAX_BODY = 1024 * 1024;

/** What a handler gets: the path's parameters, the query and the raw body. */
interface Request {
  params: string[];
  query: URLSearchParams;
  body: Buffer;
}

/** A handler's answer: a status and a JSON value (undefined = no body), or plain text. */
type Answer = { status: number; json?: unknown; text?: string };

interface Route {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** Path with `{}` for one parameter. */
  path: string;
  handle(request: Request): Promise<Answer>;
}

const ok = (json: unknown): Answer => ({ status: 200, json });

function routes(networks: DockerNetworks, containers: DockerContainers, labDir: string): Route[] {
  const version = {
    Platform: { Name: 'arca-net lab' },
    Components: [
      {
        Name: 'Engine',
        Version: SERVER_VERSION,
        Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux' },
      },
    ],
    Version: SERVER_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: '',
    Os: 'linux',
    Arch: arch() === 'x64' ? 'amd64' : arch(),
    KernelVersion: release(),
  };
  return [
    { method: 'GET', path: '/_ping', handle: async () => ({ status: 200, text: 'OK' }) },
    { method: 'HEAD', path: '/_ping', handle: async () => ({ status: 200, text: '' }) },
    { method: 'GET', path: '/version', handle: async () => ok(version) },
    {
      method: 'GET',
      path: '/info',
      handle: async () => {
        const list = await containers.list(new URLSearchParams('all=1'));
        const running = list.filter((c) => (c as { State: string }).State === 'running').length;
        return ok({
          ID: '',
          Containers: list.length,
          ContainersRunning: running,
          ContainersPaused: 0,
          ContainersStopped: list.length - running,
          Images: 0,
          Driver: '',
          Plugins: {
            Volume: [],
            Network: ['bridge', 'host', 'null'],
            Authorization: null,
            Log: [],
          },
          KernelVersion: release(),
          OperatingSystem: 'arca-net lab',
          OSType: 'linux',
          Architecture: arch() === 'x64' ? 'x86_64' : arch(),
          NCPU: cpus().length,
          MemTotal: totalmem(),
          DockerRootDir: labDir,
          Name: hostname(),
          Labels: [],
          ServerVersion: SERVER_VERSION,
          Swarm: { LocalNodeState: 'inactive' },
          Warnings: null,
        });
      },
    },
    { method: 'GET', path: '/networks', handle: async (r) => ok(await networks.list(r.query)) },
    {
      method: 'POST',
      path: '/networks/create',
      handle: async (r) => ({ status: 201, json: await networks.create(r.body) }),
    },
    {
      method: 'POST',
      path: '/networks/prune',
      handle: async (r) => ok(await networks.prune(r.query)),
    },
    {
      method: 'GET',
      path: '/networks/{}',
      handle: async (r) => ok(await networks.inspect(r.params[0] ?? '')),
    },
    {
      method: 'DELETE',
      path: '/networks/{}',
      handle: async (r) => {
        await networks.remove(r.params[0] ?? '');
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/networks/{}/connect',
      handle: async (r) => {
        await networks.connect(r.params[0] ?? '', r.body);
        return { status: 200 };
      },
    },
    {
      method: 'POST',
      path: '/networks/{}/disconnect',
      handle: async (r) => {
        await networks.disconnect(r.params[0] ?? '', r.body);
        return { status: 200 };
      },
    },
    {
      method: 'GET',
      path: '/containers/json',
      handle: async (r) => ok(await containers.list(r.query)),
    },
    {
      method: 'GET',
      path: '/containers/{}/json',
      handle: async (r) => ok(await containers.inspect(r.params[0] ?? '')),
    },
  ];
}

/** The route and parameters of a method and (unversioned) path. */
function match(
  table: Route[],
  method: string,
  path: string,
): [Route, string[]] | 'method' | undefined {
  const actual = path.split('/').slice(1);
  let wrongMethod = false;
  for (const route of table) {
    const pattern = route.path.split('/').slice(1);
    if (pattern.length !== actual.length) continue;
    const params: string[] = [];
    const fits = pattern.every((segment, index) => {
      const value = actual[index] ?? '';
      if (segment === '{}') {
        params.push(decodeURIComponent(value));
        return value !== '';
      }
      return segment === value;
    });
    if (!fits) continue;
    if (route.method === method) return [route, params];
    wrongMethod = true;
  }
  return wrongMethod ? 'method' : undefined;
}

/** `/v1.41/networks` → `/networks`; Docker's 400 for a version outside what it serves. */
function unversioned(path: string): string {
  const m = /^\/v([0-9.]+)(\/.*)$/.exec(path);
  if (!m) return path;
  const requested = m[1] ?? '';
  if (compareVersions(requested, API_VERSION) > 0) {
    throw new DockerApiError(
      400,
      `client version ${requested} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  if (compareVersions(requested, MIN_API_VERSION) < 0) {
    throw new DockerApiError(
      400,
      `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  return m[2] ?? '/';
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DockerApiError(400, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, method: string, answer: Answer): void {
  const headers: Record<string, string | number> = {
    'Api-Version': API_VERSION,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Docker/${SERVER_VERSION} (linux)`,
  };
  let text = '';
  if (answer.text !== undefined) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    headers['Cache-Control'] = 'no-cache, no-store, must-revalidate';
    headers.Pragma = 'no-cache';
    text = answer.text;
  } else if (answer.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    text = `${JSON.stringify(answer.json)}\n`;
  }
  headers['Content-Length'] = Buffer.byteLength(text);
  response.writeHead(answer.status, headers);
  response.end(method === 'HEAD' ? undefined : text);
}

/** Answers one request; never throws. */
async function answer(table: Route[], request: IncomingMessage): Promise<Answer> {
  try {
    const url = new URL(request.url ?? '/', 'http://docker');
    // A path Go's router cannot unescape either.
    if (/%(?![0-9A-Fa-f]{2})/.test(url.pathname))
      throw new DockerApiError(400, 'invalid URL escape');
    const path = unversioned(url.pathname.replace(/\/+$/, '') || '/');
    const found = match(table, request.method ?? 'GET', path);
    if (found === undefined) return { status: 404, json: { message: 'page not found' } };
    if (found === 'method') return { status: 405, json: { message: 'Method Not Allowed' } };
    const [route, params] = found;
    return await route.handle({ params, query: url.searchParams, body: await readBody(request) });
  } catch (error) {
    const { status, message } = dockerErrorOf(error);
    return { status, json: { message } };
  }
}

/** Serves Docker's API for `backend` on the Unix socket `path` (mode 0600; a stale file is replaced). */
export async function serveDockerApi(
  backend: DockerBackend,
  path: string,
  options: { logger: Logger; labDir: string },
): Promise<Server> {
  const notes = new DockerNotes(join(options.labDir, 'docker-api.json'));
  const networks = new DockerNetworks(backend, options.labDir, notes);
  const containers = new DockerContainers(backend, notes);
  const table = routes(networks, containers, options.labDir);
  const server = createServer((request, response) => {
    const method = request.method ?? 'GET';
    void answer(table, request).then(
      (result) => {
        send(response, method, result);
        const log = result.status >= 500 ? 'warn' : 'debug';
        options.logger[log]({ method, url: request.url, status: result.status }, 'docker api');
      },
      (error: unknown) => {
        options.logger.error({ err: error, method, url: request.url }, 'docker api failed');
        if (!response.headersSent)
          send(response, method, { status: 500, json: { message: String(error) } });
      },
    );
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await listenUnix(server, path);
  await chmod(path, 0o600);
  return server;
}
