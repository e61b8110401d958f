import { mkdtemp, rm } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors, NetworkBackendError, type NetworkInspect } from '@arca-net/host';
import { silentLogger } from '@arca-net/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabClient } from '../src/api/client.js';
import { answeredByLabHost, type LabApi } from '../src/api/routes.js';
import { serveLabApi } from '../src/api/server.js';

function network(name: string, labels: Record<string, string> = {}): NetworkInspect {
  return {
    Name: name,
    Id: 'f'.repeat(64),
    Created: '2026-01-01T00:00:00.000Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }],
    },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: labels,
  };
}

const notImplemented = (): Promise<never> => Promise.reject(new Error('not in this fake'));

/** A fake lab host: only the calls these tests make, failing with the host's own errors. */
const fake: LabApi = {
  health: async () => ({ healthy: true, components: [] }),
  listNetworks: async () => [network('front')],
  createNetwork: async (body) => {
    if (body.name === 'front') throw errors.networkNameExists('front');
    return network(body.name, body.labels);
  },
  inspectNetwork: async (ref) => {
    if (ref !== 'front') throw errors.networkNotFound(ref);
    return network('front');
  },
  removeNetwork: notImplemented,
  connect: notImplemented,
  disconnect: notImplemented,
  listContainers: async () => [],
  runContainer: notImplemented,
  inspectContainer: notImplemented,
  containerStats: notImplemented,
  removeContainer: notImplemented,
  stopContainer: notImplemented,
  startContainer: notImplemented,
  restartContainer: notImplemented,
  pruneNetworks: async (body) => ({ deleted: body.labels ?? [] }),
  containerPorts: async () => [],
  containerPort: async (ref, port) => {
    throw errors.noPublicPort(`${port}/tcp`, ref);
  },
  shutdown: async () => undefined,
};

/** A request by hand, as a client other than LabClient (curl) would send it. */
function raw(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('lab host API over a Unix socket', () => {
  let dir: string;
  let socket: string;
  let server: Server;
  let client: LabClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arcanet-lab-api-'));
    socket = join(dir, 'host.sock');
    server = await serveLabApi(fake, socket, { logger: silentLogger });
    client = new LabClient(socket);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips a request body and a result', async () => {
    const created = await client.createNetwork({ name: 'back', labels: { tier: 'db' } });
    expect(created.Name).toBe('back');
    expect(created.Labels).toEqual({ tier: 'db' });
  });

  it('routes a POST with a body beside a parameterised path (network prune)', async () => {
    expect(await client.pruneNetworks({ labels: ['a=b'] })).toEqual({ deleted: ['a=b'] });
  });

  it("carries the host's error code, kind and message to the client, as the host's error", async () => {
    const notFound = await client.inspectNetwork('nope').catch((error: unknown) => error);
    expect(notFound).toBeInstanceOf(NetworkBackendError);
    expect(notFound).toMatchObject({
      code: 'NETWORK_NOT_FOUND',
      kind: 'not-found',
      message: 'network nope not found',
    });
    expect(answeredByLabHost(notFound)).toBe(true);
    await expect(client.createNetwork({ name: 'front' })).rejects.toMatchObject({
      code: 'NETWORK_NAME_EXISTS',
      kind: 'conflict',
    });
  });

  it('answers with the status of the kind and the error as it is', async () => {
    expect(await raw(socket, 'GET', '/v1/networks/nope')).toEqual({
      status: 404,
      body: {
        error: { code: 'NETWORK_NOT_FOUND', kind: 'not-found', message: 'network nope not found' },
      },
    });
    const conflict = await raw(socket, 'POST', '/v1/networks', '{"name":"front"}');
    expect(conflict.status).toBe(409);
  });

  it('carries a port filter with a slash in the path, and NO_PUBLIC_PORT as 404', async () => {
    expect(await client.containerPorts('web')).toEqual([]);
    await expect(client.containerPort('web', '80')).rejects.toMatchObject({
      code: 'NO_PUBLIC_PORT',
      message: "No public port '80/tcp' published for web",
    });
    expect((await raw(socket, 'GET', '/v1/containers/web/ports/80%2Fudp')).status).toBe(404);
  });

  it('reports a failure that is not a host error as LAB_FAILED (internal), with its message', async () => {
    await expect(client.removeNetwork('front')).rejects.toMatchObject({
      code: 'LAB_FAILED',
      kind: 'internal',
      message: 'not in this fake',
    });
  });

  it('refuses a malformed % escape in a path with INVALID_OPTION (400), not a 500', async () => {
    for (const path of [
      '/v1/networks/%zz',
      '/v1/networks/%E0%A4%A',
      '/v1/containers/web/ports/%',
    ]) {
      const result = await raw(socket, 'GET', path);
      expect(result, path).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_OPTION', kind: 'invalid' } },
      });
    }
    expect((await raw(socket, 'GET', '/v1/networks/front')).status).toBe(200);
  });

  it('refuses a body that is not a JSON object with INVALID_OPTION (400)', async () => {
    const result = await raw(socket, 'POST', '/v1/networks', '[1]');
    expect(result).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_OPTION', kind: 'invalid' } },
    });
  });

  it('fails with LAB_UNAVAILABLE, not as an answer of a lab host, when nothing listens', async () => {
    const nobody = new LabClient(join(dir, 'absent.sock'));
    const error = await nobody.listNetworks().catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'LAB_UNAVAILABLE', kind: 'unavailable' });
    expect(answeredByLabHost(error)).toBe(false);
  });
});
