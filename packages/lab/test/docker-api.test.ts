import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CreateNetworkOptions, errors, type NetworkInspect } from '@arca-net/host';
import { silentLogger } from '@arca-net/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerBackend } from '../src/docker-api/index.js';
import { serveDockerApi } from '../src/docker-api/index.js';

function network(name: string, id: string, subnet = '172.18.0.0/16'): NetworkInspect {
  return {
    Name: name,
    Id: id,
    Created: '2026-01-01T00:00:00.000Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: subnet, Gateway: '172.18.0.1' }] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

const created: CreateNetworkOptions[] = [];
/**
 * The ids start with `p`, a character that neither `host`'s nor `none`'s id starts with: theirs
 * derive from the lab directory, random here, and with a fixed `a` the prefix lookups `a0` and
 * `ab` were ambiguous in about one run in 64 (set in beforeAll).
 */
let p = 'a';
const networks = [
  network('bridge', `${p}${'0'.repeat(63)}`, '172.17.0.0/16'),
  network('front', `${p}b${'1'.repeat(62)}`),
  network('back', `${p}b${'2'.repeat(62)}`),
];

/** A fake lab host: the host's errors, and one call that fails with a plain Error. */
const fake: DockerBackend = {
  ensureDefaultNetwork: async () => 'bridge',
  listNetworks: async () => networks,
  createNetwork: async (body) => {
    if (body.name === 'boom') throw new Error('something broke');
    if (networks.some((n) => n.Name === body.name)) throw errors.networkNameExists(body.name);
    created.push(body);
    return network(body.name, 'c'.repeat(64));
  },
  inspectNetwork: async (ref) => {
    const n = networks.find((x) => x.Id === ref || x.Name === ref);
    if (!n) throw errors.networkNotFound(ref);
    return n;
  },
  removeNetwork: async () => undefined,
  connect: async () => {
    throw errors.endpointExists('c1', 'front');
  },
  disconnect: async () => {
    throw errors.notConnected('c1', 'front');
  },
  listContainers: async () => [],
  inspectContainer: async (ref) => {
    if (ref !== 'c1') throw errors.containerNotFound(ref);
    return {
      name: 'c1',
      id: 'd'.repeat(64),
      namespace: 'x',
      pid: 1,
      state: 'running',
      endpoint: 'unixdir:/x',
      attachments: [],
      ports: [],
    };
  },
};

function call(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: text.trim(), headers: response.headers }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

let dir: string;
let socket: string;
let server: Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'docker-api-'));
  socket = join(dir, 'docker.sock');
  server = await serveDockerApi(fake, socket, { logger: silentLogger, labDir: dir });
  const builtins = (JSON.parse((await call(socket, 'GET', '/networks')).text) as NetworkInspect[])
    .filter((n) => n.Name === 'host' || n.Name === 'none')
    .map((n) => n.Id[0]);
  expect(builtins).toHaveLength(2);
  p = [...'0123456789abcdef'].find((c) => !builtins.includes(c)) as string;
  for (const n of networks) n.Id = p + n.Id.slice(1);
});

afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

const message = (text: string) => (JSON.parse(text) as { message: string }).message;

describe("Docker's Engine API on a lab", () => {
  it('is a socket only its owner can use, and pings with the API version', async () => {
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    const ping = await call(socket, 'GET', '/_ping');
    expect([ping.status, ping.text, ping.headers['api-version']]).toEqual([200, 'OK', '1.41']);
    expect((await call(socket, 'HEAD', '/_ping')).status).toBe(200);
    const version = JSON.parse((await call(socket, 'GET', '/v1.41/version')).text);
    expect([version.ApiVersion, version.MinAPIVersion]).toEqual(['1.41', '1.12']);
  });

  it("refuses versions outside 1.12..1.41 and unknown paths as Docker's daemon does", async () => {
    const tooNew = await call(socket, 'GET', '/v1.99/version');
    expect([tooNew.status, message(tooNew.text)]).toEqual([
      400,
      'client version 1.99 is too new. Maximum supported API version is 1.41',
    ]);
    expect((await call(socket, 'GET', '/v1.5/version')).status).toBe(400);
    const missing = await call(socket, 'GET', '/v1.41/images/json');
    expect([missing.status, message(missing.text)]).toEqual([404, 'page not found']);
    expect((await call(socket, 'PUT', '/networks/front')).status).toBe(405);
  });

  it("decodes bodies as Go does: Go's type errors, unknown fields ignored, names case-insensitive", async () => {
    const cases: Array<[string, number, string]> = [
      ['', 400, 'got EOF while reading request body'],
      ['{bad', 400, "invalid character 'b' looking for beginning of object key string"],
      ['[]', 400, 'json: cannot unmarshal array into Go value of type types.NetworkCreateRequest'],
      [
        '{"Name":5}',
        400,
        'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Name of type string',
      ],
      [
        '{"Name":"x","IPAM":{"Config":[{"Subnet":5}]}}',
        400,
        'json: cannot unmarshal number into Go struct field IPAMConfig.IPAM.Config.Subnet of type string',
      ],
      [
        '{"Name":"x","Labels":{"k":1}}',
        400,
        'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Labels of type string',
      ],
      ['{}', 500, 'invalid name: '],
      ['{"Name":"bridge"}', 403, 'operation is not permitted on predefined bridge network '],
      ['{"Name":"front"}', 409, 'network with name front already exists'],
      ['{"Name":"boom"}', 500, 'something broke'],
    ];
    for (const [body, status, text] of cases) {
      const answer = await call(socket, 'POST', '/v1.41/networks/create', body);
      expect([body, answer.status, message(answer.text)]).toEqual([body, status, text]);
    }
    const ok = await call(
      socket,
      'POST',
      '/networks/create',
      '{"name":"new","Bogus":[1],"IPAM":{"Config":[{"Subnet":"10.9.0.0/24","IPRange":"10.9.0.128/25"}]},"Internal":true,"Labels":{"a":"b"}}',
    );
    expect([ok.status, JSON.parse(ok.text)]).toEqual([201, { Id: 'c'.repeat(64), Warning: '' }]);
    expect(created.at(-1)).toEqual({
      name: 'new',
      subnet: '10.9.0.0/24',
      ipRange: '10.9.0.128/25',
      internal: true,
      labels: { a: 'b' },
    });
    expect(JSON.parse(await readFile(join(dir, 'docker-api.json'), 'utf8')).networks).toEqual({
      ['c'.repeat(64)]: { userSubnet: true, userGateway: false },
    });
  });

  it("finds networks by id, name or unique prefix, with Docker's ambiguity errors", async () => {
    const byPrefix = await call(socket, 'GET', `/v1.41/networks/${p}0`);
    expect(JSON.parse(byPrefix.text).Name).toBe('bridge');
    const ambiguous = await call(socket, 'GET', `/v1.41/networks/${p}b`);
    expect([ambiguous.status, message(ambiguous.text)]).toEqual([
      400,
      `2 matches found based on ID prefix: network ${p}b is ambiguous`,
    ]);
    const removing = await call(socket, 'DELETE', `/v1.41/networks/${p}b`);
    expect(message(removing.text)).toBe(
      `network ${p}b is ambiguous (2 matches found based on ID prefix)`,
    );
    const bridge = await call(socket, 'DELETE', '/v1.41/networks/bridge');
    expect([bridge.status, message(bridge.text)]).toEqual([
      403,
      'bridge is a pre-defined network and cannot be removed',
    ]);
    const names = JSON.parse((await call(socket, 'GET', '/networks')).text).map(
      (n: NetworkInspect) => n.Name,
    );
    expect(names).toEqual(['bridge', 'front', 'back', 'host', 'none']);
  });

  it('filters networks with Docker’s keys and refuses others', async () => {
    const list = async (filters: unknown) => {
      const q = encodeURIComponent(JSON.stringify(filters));
      return call(socket, 'GET', `/v1.41/networks?filters=${q}`);
    };
    const names = async (filters: unknown) =>
      JSON.parse((await list(filters)).text).map((n: NetworkInspect) => n.Name);
    expect(await names({ name: { '^f': true } })).toEqual(['front']);
    expect(await names({ type: ['builtin'] })).toEqual(['bridge', 'host', 'none']);
    expect(await names({ driver: ['null'] })).toEqual(['none']);
    const bad = await list({ colour: ['red'] });
    expect([bad.status, message(bad.text)]).toEqual([400, "Invalid filter 'colour'"]);
    expect((await list({ dangling: ['maybe'] })).status).toBe(400);
  });

  it("connects and disconnects with the host's errors in Docker's words", async () => {
    const unknown = await call(socket, 'POST', '/networks/front/connect', '{"Container":"nope"}');
    expect([unknown.status, message(unknown.text)]).toEqual([404, 'No such container: nope']);
    const twice = await call(socket, 'POST', '/networks/front/connect', '{"Container":"c1"}');
    expect([twice.status, message(twice.text)]).toEqual([
      403,
      'endpoint with name c1 already exists in network front',
    ]);
    const host = await call(socket, 'POST', '/networks/host/connect', '{"Container":"c1"}');
    expect(host.status).toBe(400);
    const out = await call(socket, 'POST', '/networks/front/disconnect', '{"Container":"c1"}');
    expect([out.status, message(out.text)]).toEqual([
      403,
      `container ${'d'.repeat(64)} is not connected to network front`,
    ]);
    const force = await call(socket, 'POST', '/networks/front/disconnect', '{"Force":"x"}');
    expect(message(force.text)).toBe(
      'json: cannot unmarshal string into Go struct field NetworkDisconnect.Force of type bool',
    );
  });

  it('keeps serving after every failure, garbage included', async () => {
    expect((await call(socket, 'GET', '/v1.41/networks/%ZZ')).status).toBe(400);
    const big = await call(socket, 'POST', '/networks/create', `{"Name":"${'x'.repeat(2 ** 21)}"}`);
    expect([big.status, message(big.text)]).toEqual([400, 'request body too large']);
    await new Promise<void>((resolve) => {
      const raw = connect(socket, () => raw.end('\u0000\u0001 not http at all\r\n\r\n'));
      raw.on('close', () => resolve());
      raw.on('error', () => resolve());
      raw.resume();
    });
    expect((await call(socket, 'GET', '/_ping')).text).toBe('OK');
  });
});
