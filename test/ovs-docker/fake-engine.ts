/**
 * A fake Docker Engine API on a Unix socket, with just what the port
 * manager uses: `GET /containers/json`, `GET /containers/{id}/json` (404
 * `No such container` for unknown ids) and a streaming `GET /events`
 * (newline-separated JSON), optionally behind a `/v1.xx` prefix. Containers
 * are the suite's namespaces; `start`/`die` change state and send events;
 * `stop`/`listen` take the engine away and bring it back (a Docker restart).
 * A real engine is item 4 of issue 16, not this.
 */

import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface EngineContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  pid: number;
  running: boolean;
}

export class FakeEngine {
  private server: Server | undefined;
  private readonly streams = new Set<ServerResponse>();
  readonly containers = new Map<string, EngineContainer>();
  /** Event streams opened so far. */
  subscriptions = 0;

  constructor(readonly socket: string) {}

  async listen(): Promise<void> {
    await rm(this.socket, { force: true });
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(this.socket, resolve));
  }

  /** Goes away as a stopping dockerd does: streams end, the socket closes. */
  async stop(): Promise<void> {
    for (const stream of this.streams) stream.destroy();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rm(this.socket, { force: true });
  }

  /** Adds a running container and sends its `start` event. */
  start(container: Omit<EngineContainer, 'running'>, options: { silent?: boolean } = {}): void {
    this.containers.set(container.id, { ...container, running: true });
    if (!options.silent) this.emit('start', container.id);
  }

  /** Marks a container stopped and sends `die` (unless silent: the engine was down). */
  die(id: string, options: { silent?: boolean } = {}): void {
    const c = this.containers.get(id);
    if (c) c.running = false;
    if (!options.silent) this.emit('die', id);
  }

  private emit(action: string, id: string): void {
    const c = this.containers.get(id);
    const event = {
      status: action,
      id,
      from: 'busybox',
      Type: 'container',
      Action: action,
      Actor: { ID: id, Attributes: { name: c?.name ?? '', ...(c?.labels ?? {}) } },
      scope: 'local',
      time: Math.floor(Date.now() / 1000),
      timeNano: Date.now() * 1e6,
    };
    for (const stream of this.streams) stream.write(`${JSON.stringify(event)}\n`);
  }

  private inspect(c: EngineContainer): unknown {
    return {
      Id: c.id,
      Name: `/${c.name}`,
      State: {
        Status: c.running ? 'running' : 'exited',
        Running: c.running,
        Pid: c.running ? c.pid : 0,
      },
      Config: { Labels: c.labels },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://engine');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && path === '/_ping') {
      res.writeHead(200).end('OK');
      return;
    }
    if (req.method === 'GET' && path === '/events') {
      this.subscriptions++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      return;
    }
    if (req.method === 'GET' && path === '/containers/json') {
      const all = url.searchParams.get('all') === 'true' || url.searchParams.get('all') === '1';
      const list = [...this.containers.values()]
        .filter((c) => all || c.running)
        .map((c) => ({
          Id: c.id,
          Names: [`/${c.name}`],
          Labels: c.labels,
          State: c.running ? 'running' : 'exited',
        }));
      json(200, list);
      return;
    }
    const match = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (req.method === 'GET' && match) {
      const key = decodeURIComponent(match[1] ?? '');
      const c =
        this.containers.get(key) ??
        [...this.containers.values()].find((x) => x.name === key || x.id.startsWith(key));
      if (!c) json(404, { message: `No such container: ${key}` });
      else json(200, this.inspect(c));
      return;
    }
    json(404, { message: `page not found: ${req.method} ${path}` });
  }
}
