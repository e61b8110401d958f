import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@arca-net/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type NetworkView } from '../src/daemon/api.js';
import { HostClient, HostUnreachableError } from '../src/daemon/client.js';
import { type LabService, serveLabApi } from '../src/daemon/server.js';
import { backendError } from '../src/daemon/service.js';

const front: NetworkView = {
  id: 'f'.repeat(64),
  name: 'front',
  driver: 'ovn',
  subnet: '172.18.0.0/16',
  gateway: '172.18.0.1',
  internal: false,
  labels: {},
  containers: [],
};

const notImplemented = (): Promise<never> => Promise.reject(new Error('not in this fake'));

/** A fake service: only the calls these tests make. */
const fake: LabService = {
  health: async () => ({ healthy: true, components: [] }),
  listNetworks: async () => [front],
  createNetwork: async (body) => {
    if (body.name === 'front')
      throw new ApiError('conflict', 'network with name front already exists');
    return { ...front, name: body.name, labels: body.labels ?? {} };
  },
  inspectNetwork: async (ref) => {
    if (ref !== 'front') throw new ApiError('notFound', `network ${ref} not found`);
    return front;
  },
  removeNetwork: notImplemented,
  connect: notImplemented,
  disconnect: notImplemented,
  listContainers: async () => [],
  runContainer: notImplemented,
  inspectContainer: notImplemented,
  removeContainer: notImplemented,
  containerStats: notImplemented,
};

describe('lab host API over a Unix socket', () => {
  let dir: string;
  let server: Server;
  let client: HostClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arcanet-cli-api-'));
    server = await serveLabApi(fake, join(dir, 'host.sock'), {
      logger: silentLogger,
      onShutdown: () => undefined,
    });
    client = new HostClient(join(dir, 'host.sock'));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a request body and a result', async () => {
    const created = await client.createNetwork({ name: 'back', labels: { tier: 'db' } });
    expect(created.name).toBe('back');
    expect(created.labels).toEqual({ tier: 'db' });
  });

  it('carries the error kind and message to the client', async () => {
    await expect(client.inspectNetwork('nope')).rejects.toMatchObject({
      code: 'notFound',
      message: 'network nope not found',
    });
    await expect(client.createNetwork({ name: 'front' })).rejects.toMatchObject({
      code: 'conflict',
    });
  });

  it('reports an internal error for a failure without a kind', async () => {
    await expect(client.removeNetwork('front')).rejects.toMatchObject({
      code: 'internal',
      message: 'not in this fake',
    });
  });

  it('fails with HostUnreachableError when nothing listens', async () => {
    const nobody = new HostClient(join(dir, 'absent.sock'));
    await expect(nobody.listNetworks()).rejects.toBeInstanceOf(HostUnreachableError);
  });
});

describe('backend error mapping', () => {
  it('maps the backend kinds to API error kinds', () => {
    const error = Object.assign(new Error('network x not found'), { kind: 'not-found' });
    expect(backendError(error)).toMatchObject({ code: 'notFound', message: 'network x not found' });
    const forbidden = Object.assign(new Error('has active endpoints'), { kind: 'forbidden' });
    expect(backendError(forbidden).code).toBe('forbidden');
    expect(backendError(new Error('boom')).code).toBe('internal');
  });
});
