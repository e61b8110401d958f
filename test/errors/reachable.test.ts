/**
 * Every code of the host's error table (packages/host/src/errors.ts) is
 * produced by a real call: of OvsNetworkBackend (its helper and container VMs
 * FAKE gRPC servers, packages/host/test/fake-vms.ts, so each of their
 * answers can be chosen), of the lab (a real lab host process, whose helper
 * VM is a FAKE too, with a real lab container: a namespace running the real
 * forwarder), or of the CLI. None is constructed by hand. Then the worked
 * example of docs/errors.md runs from the helper's answer to the terminal.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerError, Status } from 'nice-grpc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../packages/cli/dist/cli.js';
import { labExecCommand } from '../../packages/cli/dist/commands/lab.js';
import { networkLs } from '../../packages/cli/dist/commands/network.js';
import { capturedIo } from '../../packages/cli/test/captured-io.js';
import {
  type ErrorCode,
  errorTable,
  isBackendError,
  NetworkBackendError,
  OvsNetworkBackend,
  type OvsNetworkBackendOptions,
  PortAllocator,
} from '../../packages/host/dist/index.js';
import { FakeForwarder, FakeHelper } from '../../packages/host/test/fake-vms.js';
import {
  LabClient,
  LabHostAnswer,
  LabPaths,
  labDown,
  labUp,
  spawnDetached,
  tryCommand,
  waitFor,
} from '../../packages/lab/dist/index.js';
import { freePort } from '../free-port.js';

const root = mkdtempSync(join(tmpdir(), 'arcanet-errors-'));
const docPath = new URL('../../docs/errors.md', import.meta.url);
const hostMain = new URL('../../packages/lab/dist/host/main.js', import.meta.url).pathname;
/** The lab of this file: its own directory and namespace prefix. */
const paths = new LabPaths({
  dir: join(root, 'lab'),
  prefix: `aer${process.pid.toString(36).slice(-4)}`,
});
const labEnv = {
  ...process.env,
  ARCA_NET_LAB_DIR: paths.dir,
  ARCA_NET_LAB_PREFIX: paths.config.prefix,
};

const ID = (n: number) => `${String(n).repeat(12)}${'f'.repeat(52)}`.slice(0, 64);

/** What the real controller answers when its external network is used up (packages/controller/src/domain/networks.ts). */
const externalExhausted = (network: string) =>
  `network ${network}: no free address left in the external network 198.51.100.0/30 (each non-internal network takes one; use internal networks or a larger ARCA_EXTERNAL_CIDR)`;

let helper: FakeHelper;
let labHelper: FakeHelper;
const vms = new Map<string, FakeForwarder>();
let backend: OvsNetworkBackend;
let hungLabHost: Server;

function backendOptions(stateFile: string): OvsNetworkBackendOptions {
  return {
    stateFile,
    helper: { kind: 'unixdir', dir: helper.dir },
    helperWatchMs: 0,
    client: { deadlineMs: 3000, retryUnavailableMs: 0 },
    bridge: { retry: { attempts: 2, initialDelayMs: 5, maxDelayMs: 10 }, dialTimeoutMs: 300 },
  };
}

/** Starts a FAKE container VM and registers it as running. */
async function startVm(n: number, name: string): Promise<void> {
  const vm = new FakeForwarder(name, join(root, `vm-${name}`), []);
  await vm.start();
  vms.set(name, vm);
  await backend.registerContainer({
    id: ID(n),
    name,
    endpoint: { kind: 'unixdir', dir: vm.dir },
    running: true,
  });
}

/** Starts the real lab host process on `paths`, as `lab up` does, and waits until it answers. */
async function startLabHost(): Promise<void> {
  labHelper = new FakeHelper(paths.helperVmDir, []);
  await labHelper.start();
  const pid = await spawnDetached([process.execPath, hostMain, '--lab-dir', paths.dir], {
    logFile: paths.log('host'),
    pidfile: paths.hostPidfile,
    env: { ...labEnv, ARCA_NET_LOG_FORMAT: 'json' },
  });
  const client = new LabClient(paths.hostSocket, { timeoutMs: 2000 });
  const up = await waitFor(
    () =>
      client.health().then(
        () => true,
        () => false,
      ),
    {
      timeoutMs: 30_000,
      intervalMs: 50,
    },
  );
  if (!up) throw new Error(`lab host ${pid} did not answer (log: ${paths.log('host')})`);
}

beforeAll(async () => {
  helper = new FakeHelper(join(root, 'helper'), []);
  await helper.start();
  backend = await OvsNetworkBackend.open(backendOptions(join(root, 'state.db')));
  await backend.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
  await backend.createNetwork({ name: 'tiny', subnet: '10.60.0.0/30' });
  // Between them, every default pool of Docker's.
  await backend.createNetwork({ name: 'wide-172', subnet: '172.16.0.0/12' });
  await backend.createNetwork({ name: 'wide-192', subnet: '192.168.0.0/16' });
  await startVm(1, 'one');
  await startVm(2, 'two');
  await backend.connect('one', 'front', { ip: '10.20.0.10' });
  await backend.connect('one', 'tiny');

  mkdirSync(paths.logsDir, { recursive: true });
  await startLabHost();
  await new LabClient(paths.hostSocket).runContainer({ name: 'c1' });

  // A lab host that accepts connections and never answers.
  hungLabHost = createServer(() => undefined);
  await new Promise<void>((resolve) => hungLabHost.listen(join(root, 'hung.sock'), resolve));
});

afterEach(() => {
  helper.failures.clear();
  helper.bindData = true;
  labHelper.failures.clear();
  for (const vm of vms.values()) vm.failures.clear();
});

afterAll(async () => {
  hungLabHost?.close();
  await backend?.close();
  for (const vm of vms.values()) await vm.stop();
  await helper?.stop();
  await labDown(paths);
  await labHelper?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Per host code: the real call that produces it, and what the call is. */
const producers: Record<string, [string, () => Promise<unknown>]> = {
  NETWORK_NAME_EXISTS: [
    'backend: create a network whose name is taken',
    () => backend.createNetwork({ name: 'front' }),
  ],
  NETWORK_NOT_FOUND: ['backend: inspect an unknown network', () => backend.inspectNetwork('nope')],
  NETWORK_HAS_ENDPOINTS: [
    'backend: remove a network with endpoints',
    () => backend.removeNetwork('front'),
  ],
  POOL_OVERLAP: [
    'backend: create a network whose subnet overlaps another',
    () => backend.createNetwork({ name: 'other', subnet: '10.20.0.128/25' }),
  ],
  POOLS_EXHAUSTED: [
    'backend: create a network without a subnet when no default pool is free',
    () => backend.createNetwork({ name: 'auto' }),
  ],
  EXTERNAL_ADDRESSES_EXHAUSTED: [
    'backend: the helper answers CreateBridge RESOURCE_EXHAUSTED',
    () => {
      helper.failures.set(
        'CreateBridge',
        new ServerError(Status.RESOURCE_EXHAUSTED, externalExhausted('more')),
      );
      return backend.createNetwork({ name: 'more', subnet: '10.40.0.0/24' });
    },
  ],
  INVALID_NAME: [
    'backend: create a network with a space in its name',
    () => backend.createNetwork({ name: 'no spaces' }),
  ],
  INVALID_SUBNET: [
    'backend: create a network whose subnet has host bits set',
    () => backend.createNetwork({ name: 'other', subnet: '10.30.0.1/24' }),
  ],
  INVALID_GATEWAY: [
    'backend: create a network whose gateway is outside its subnet',
    () => backend.createNetwork({ name: 'other', subnet: '10.30.0.0/24', gateway: '10.31.0.1' }),
  ],
  INVALID_IP_RANGE: [
    'backend: create a network whose ip-range is outside its subnet',
    () => backend.createNetwork({ name: 'other', subnet: '10.30.0.0/24', ipRange: '10.31.0.0/25' }),
  ],
  INVALID_IP: [
    'backend: connect with an IP that does not parse',
    () => backend.connect('two', 'front', { ip: '10.20.0.300' }),
  ],
  INVALID_MAC: [
    'backend: connect with a multicast MAC',
    () => backend.connect('two', 'front', { mac: '01:00:5e:00:00:01' }),
  ],
  INVALID_OPTION: [
    'backend: register a container whose id is not 64 hex digits',
    () =>
      backend.registerContainer({
        id: 'xyz',
        name: 'three',
        endpoint: { kind: 'unixdir', dir: root },
      }),
  ],
  IP_NOT_IN_SUBNET: [
    'backend: connect with an IP outside the subnet',
    () => backend.connect('two', 'front', { ip: '10.99.0.5' }),
  ],
  ADDRESS_IN_USE: [
    'backend: connect with an IP another container has',
    () => backend.connect('two', 'front', { ip: '10.20.0.10' }),
  ],
  NO_FREE_ADDRESS: [
    'backend: connect to a /30 whose one address is taken',
    () => backend.connect('two', 'tiny'),
  ],
  ENDPOINT_EXISTS: ['backend: connect a container twice', () => backend.connect('one', 'front')],
  NOT_CONNECTED: [
    'backend: disconnect a container that is not connected',
    () => backend.disconnect('two', 'front'),
  ],
  CONTAINER_NOT_FOUND: [
    'backend: connect an unknown container',
    () => backend.connect('ghost', 'front'),
  ],
  CONTAINER_EXISTS: [
    'backend: register a second container under a taken name',
    () =>
      backend.registerContainer({
        id: ID(3),
        name: 'one',
        endpoint: { kind: 'unixdir', dir: root },
      }),
  ],
  CONTAINER_NOT_RUNNING: [
    // A stopped container, not a killed forwarder: the lab host's supervisor restarts a
    // killed one within 0.5 s, which raced this check.
    'CLI: lab exec in a stopped lab container',
    async () => {
      await new LabClient(paths.hostSocket).stopContainer('c1');
      const context = { io: capturedIo(), paths, json: false, quiet: true };
      return labExecCommand(context, 'c1', ['true']);
    },
  ],
  PORTS_EXHAUSTED: [
    "the backend's port allocator with every port of its range in use (the backend's own range takes 10,000 attachments)",
    async () => {
      const ports = new PortAllocator([], { min: 20000, limit: 20001 });
      ports.allocate();
      return ports.allocate();
    },
  ],
  HELPER_FAILED: [
    'backend: the helper answers CreateBridge INTERNAL',
    () => {
      helper.failures.set('CreateBridge', new ServerError(Status.INTERNAL, 'ovn-nbctl exploded'));
      return backend.createNetwork({ name: 'more', subnet: '10.40.0.0/24' });
    },
  ],
  HELPER_UNAVAILABLE: [
    'backend: the helper answers CreateBridge UNAVAILABLE',
    () => {
      helper.failures.set('CreateBridge', new ServerError(Status.UNAVAILABLE, 'OVN unavailable'));
      return backend.createNetwork({ name: 'more', subnet: '10.40.0.0/24' });
    },
  ],
  NORTHD_UNAVAILABLE: [
    'backend: the helper answers AttachContainer FAILED_PRECONDITION (its northd is down)',
    () => {
      helper.failures.set(
        'AttachContainer',
        new ServerError(Status.FAILED_PRECONDITION, 'OVN northd is not running in the helper VM'),
      );
      return backend.connect('two', 'front');
    },
  ],
  FORWARDER_FAILED: [
    "backend: the container's forwarder answers AttachNetwork INTERNAL",
    () => {
      vms.get('two')?.failures.set('AttachNetwork', new ServerError(Status.INTERNAL, 'no TAP'));
      return backend.connect('two', 'front');
    },
  ],
  FORWARDER_UNAVAILABLE: [
    "backend: the container's forwarder answers AttachNetwork UNAVAILABLE",
    () => {
      vms.get('two')?.failures.set('AttachNetwork', new ServerError(Status.UNAVAILABLE, 'gone'));
      return backend.connect('two', 'front');
    },
  ],
  RELAY_FAILED: [
    "backend: connect while the helper's data port does not listen",
    () => {
      helper.bindData = false;
      return backend.connect('two', 'front');
    },
  ],
  CLOSED: [
    'backend: create a network after close()',
    async () => {
      const closed = await OvsNetworkBackend.open(backendOptions(join(root, 'closed.db')));
      await closed.close();
      return closed.createNetwork({ name: 'late' });
    },
  ],
  INVALID_PORT_SPEC: [
    'backend: publish a malformed -p value',
    () => backend.publish('one', ['8080:x']),
  ],
  PORT_ALREADY_ALLOCATED: [
    'backend: publish a host port twice',
    async () => {
      const port = await freePort();
      await backend.publish('one', [`127.0.0.1:${port}:80`]);
      return backend.publish('one', [`127.0.0.1:${port}:81`]);
    },
  ],
  PORT_IN_USE: [
    'backend: publish a host port another process listens on',
    async () => {
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const address = holder.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        return await backend.publish('one', [`127.0.0.1:${port}:80`]);
      } finally {
        holder.close();
      }
    },
  ],
  PORT_NOT_PERMITTED: [
    'backend (in a process without CAP_NET_BIND_SERVICE): publish port 80',
    async () => {
      await startVm(5, 'five');
      const dir = vms.get('five')?.dir ?? '';
      const r = await tryCommand(
        [
          ...['setpriv', '--bounding-set=-net_bind_service', '--inh-caps=-net_bind_service'],
          ...[process.execPath, '--input-type=module', '-e', privilegedScript(dir)],
        ],
        { timeoutMs: 30_000 },
      );
      const [code = '', message = ''] = r.stdout.trim().split('\t');
      throw new NetworkBackendError(code as ErrorCode, `${message} (${r.stderr.trim()})`);
    },
  ],
  PORT_BIND_FAILED: [
    'backend: publish on a host address the host does not have',
    () => backend.publish('one', ['192.0.2.77:0:80']),
  ],
  PORTS_ON_INTERNAL_NETWORK: [
    'backend: publish for a container on an internal network only',
    async () => {
      await startVm(4, 'four');
      await backend.createNetwork({ name: 'closed', subnet: '10.62.0.0/24', internal: true });
      await backend.connect('four', 'closed');
      return backend.publish('four', ['0:80']);
    },
  ],
  NO_PUBLIC_PORT: [
    'backend: the published ports of a container port that has none',
    () => backend.ports('one', '81'),
  ],
  LAB_UNAVAILABLE: [
    'lab: a LabClient where no lab host listens',
    () => new LabClient(join(root, 'absent.sock')).listNetworks(),
  ],
  LAB_RUNNING: ['lab: lab up while the lab host runs', () => labUp(paths)],
  PLUGIN_NOT_FOUND: [
    'backend: create a network with driver foo',
    () => backend.createNetwork({ name: 'plugged', driver: 'foo' }),
  ],
  MULTIPLE_SUBNETS: [
    'backend: create a network with two subnets',
    () => backend.createNetwork({ name: 'twice', subnets: ['10.70.0.0/24', '10.71.0.0/24'] }),
  ],
  PREDEFINED_NETWORK: [
    "lab: remove the lab's predefined bridge network",
    () => new LabClient(paths.hostSocket).removeNetwork('bridge'),
  ],
  INPUT_TOO_LARGE: [
    'backend: create a network with a 300 KB label key',
    () => backend.createNetwork({ name: 'huge', labels: { ['k'.repeat(300_000)]: 'v' } }),
  ],
  INVALID_FILTER: [
    'CLI: network ls --filter with an unknown key',
    () =>
      networkLs({ io: capturedIo(), paths, json: false, quiet: true }, { filters: ['colour=red'] }),
  ],
  LAB_FAILED: [
    'lab: a LabClient whose lab host never answers',
    () => new LabClient(join(root, 'hung.sock'), { timeoutMs: 200 }).health(),
  ],
};

/**
 * A second backend, in a process that may not bind ports below 1024, on the
 * same FAKE helper, publishing port 80 of the FAKE VM in `vmDir`; prints the
 * error's code and message.
 */
function privilegedScript(vmDir: string): string {
  const dist = new URL('../../packages/host/dist/index.js', import.meta.url).href;
  return `
    import { OvsNetworkBackend } from ${JSON.stringify(dist)};
    const b = await OvsNetworkBackend.open({ stateFile: ':memory:', helper: { kind: 'unixdir', dir: ${JSON.stringify(helper.dir)} }, helperWatchMs: 0 });
    await b.createNetwork({ name: 'privileged', subnet: '10.63.0.0/24' });
    await b.registerContainer({ id: '${ID(6)}', name: 'six', endpoint: { kind: 'unixdir', dir: ${JSON.stringify(vmDir)} }, running: true });
    await b.connect('six', 'privileged');
    try { await b.publish('six', ['127.0.0.1:80:80']); console.log('none\tpublished'); }
    catch (e) { console.log(e.code + '\t' + e.message); }
    await b.close();
  `;
}

async function rejection(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("every code of the host's table is produced by a real call", () => {
  it('has a producer here for every code, and no producer for a code the table lacks', () => {
    const codes = Object.keys(errorTable);
    const missing = codes.filter((code) => !(code in producers));
    const unknown = Object.keys(producers).filter((code) => !codes.includes(code));
    expect(
      missing,
      `host codes that no call in test/errors/reachable.test.ts produces (add a producer): ${missing.join(', ')}`,
    ).toEqual([]);
    expect(
      unknown,
      `producers of codes packages/host/src/errors.ts lacks: ${unknown.join(', ')}`,
    ).toEqual([]);
  });

  for (const [code, [what, produce]] of Object.entries(producers)) {
    it(`${code}: ${what}`, async () => {
      const error = await rejection(produce);
      expect(isBackendError(error), `${code}: ${String(error)}`).toBe(true);
      expect((error as NetworkBackendError).code).toBe(code);
    });
  }
});

describe('the worked example of docs/errors.md, from the helper to the terminal', () => {
  it("a used-up external network: RESOURCE_EXHAUSTED → EXTERNAL_ADDRESSES_EXHAUSTED → 403 → exit 1 with the helper's words", async () => {
    const answer = () =>
      labHelper.failures.set(
        'CreateBridge',
        new ServerError(Status.RESOURCE_EXHAUSTED, externalExhausted('<id>')),
      );
    answer();
    const error = await rejection(() =>
      new LabClient(paths.hostSocket).createNetwork({ name: 'more' }),
    );
    expect(error).toMatchObject({ code: 'EXTERNAL_ADDRESSES_EXHAUSTED', kind: 'forbidden' });
    expect((error as Error).cause).toBeInstanceOf(LabHostAnswer);
    expect(((error as Error).cause as LabHostAnswer).status).toBe(403);

    answer();
    const io = capturedIo();
    expect(await runCli(['network', 'create', 'more'], io, labEnv)).toBe(1);
    const line = `Error response from daemon: no free address left in the helper VM's external network (helper VM: CreateBridge more: RESOURCE_EXHAUSTED: ${externalExhausted('<id>')})`;
    expect(io.stderr).toBe(`${line}\n`);
    expect(readFileSync(docPath, 'utf8'), 'docs/errors.md shows the line the CLI prints').toContain(
      line,
    );
  });
});
