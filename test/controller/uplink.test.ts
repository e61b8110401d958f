/**
 * The helper's uplink against real OVS/OVN: startup.sh puts an interface
 * (a veth whose peer is an "outside world" namespace at 198.51.100.1/24) on
 * br-ex, and the controller connects every non-internal network's router to
 * the shared external switch: egress with SNAT to the network's external
 * address, published ports on that address; internal networks get none of it
 * but keep DNS. Containers are namespaces behind a veth (the relay is faked
 * here, as in controller.test.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  externalLsName,
  externalLspName,
  lbName,
  lrName,
  lrxName,
  lsName,
  lspName,
} from '../../packages/controller/dist/index.js';
import {
  inNamespace,
  NetworkNamespace,
  runCommand,
  uniqueSuffix,
} from '../../packages/lab/dist/index.js';
import {
  HelperOvn,
  reaches,
  repoRoot,
  startTestController,
  statusOf,
  type TestController,
  VethDataPath,
} from './harness.js';

const EXTERNAL = { cidr: '198.51.100.0/24', gateway: '198.51.100.1' };
const peerScript = join(repoRoot, 'test/tcp-peer.mjs');
const sfx = uniqueSuffix();
let outside: NetworkNamespace;
let helper: HelperOvn;
let ctl: TestController;
let dataPath: VethDataPath;
let grpcDir: string;
/** NB database right after the controller first started (before any CreateBridge). */
let pristine: string;
const namespaces: NetworkNamespace[] = [];
const listeners: ChildProcess[] = [];

async function container(id: string): Promise<NetworkNamespace> {
  const ns = await NetworkNamespace.create(`anu${sfx}${id}`);
  namespaces.push(ns);
  dataPath.place(id, ns);
  return ns;
}

/** Gives a container namespace its address and default route (what DHCP would). */
async function configure(
  ns: NetworkNamespace,
  port: string,
  ip: string,
  gateway: string,
): Promise<void> {
  const iface = VethDataPath.containerIface(port);
  await ns.run(['ip', 'addr', 'add', `${ip}/24`, 'dev', iface]);
  await ns.run(['ip', 'route', 'add', 'default', 'via', gateway]);
}

/** Starts a one-shot TCP listener in `ns` (tcp-peer.mjs) and waits until it is bound. */
async function listen(ns: NetworkNamespace, port: number): Promise<void> {
  const [ip, ...args] = inNamespace(ns.name, [
    process.execPath,
    peerScript,
    'listen',
    String(port),
  ]);
  const child = spawn(ip ?? 'ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  listeners.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listener in ${ns.name} not ready`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`listener in ${ns.name} exited ${code}`)));
  });
}

/** Connects from `ns` to ip:port; resolves with the source address the listener saw, or undefined. */
async function connectFrom(
  ns: NetworkNamespace,
  ip: string,
  port: number,
): Promise<string | undefined> {
  const out = await ns
    .run([process.execPath, peerScript, 'connect', ip, String(port)], { timeoutMs: 15_000 })
    .then(({ stdout }) => stdout)
    .catch(() => '');
  return /^from (\S+)/.exec(out)?.[1];
}

function nbFind(table: string, columns: string, ...conditions: string[]): Promise<string> {
  return helper
    .nbctl('--bare', `--columns=${columns}`, 'find', table, ...conditions)
    .then((out) => out.trim());
}

beforeAll(async () => {
  outside = await NetworkNamespace.create(`anu${sfx}o`);
  helper = await HelperOvn.start(`anu${sfx}h`, {
    env: {
      ARCA_HELPER_UPLINK: 'uplink0',
      ARCA_EXTERNAL_CIDR: EXTERNAL.cidr,
      ARCA_EXTERNAL_GATEWAY: EXTERNAL.gateway,
    },
    prepare: async (ns) => {
      await runCommand([
        'ip',
        ...['link', 'add', 'uplink0', 'netns', ns.name, 'type', 'veth'],
        ...['peer', 'name', 'ext0', 'netns', outside.name],
      ]);
      // OVS's userspace datapath reads the outside's frames via AF_PACKET: no partial checksums.
      await outside.run(['ethtool', '-K', 'ext0', 'tx', 'off']);
      await ns.run(['ethtool', '-K', 'uplink0', 'tx', 'off']);
      await outside.run(['ip', 'addr', 'add', `${EXTERNAL.gateway}/24`, 'dev', 'ext0']);
      await outside.run(['ip', 'link', 'set', 'ext0', 'up']);
    },
  });
  dataPath = new VethDataPath(helper);
  grpcDir = mkdtempSync(join(tmpdir(), `anu${sfx}-grpc-`));
  ctl = await startTestController(helper, dataPath, grpcDir, EXTERNAL);
  pristine = await helper.nbDump();
});

afterAll(async () => {
  for (const child of listeners) child.kill('SIGKILL');
  if (process.env.ANC_KEEP) return; // debugging: leave the helper running
  await ctl?.close();
  for (const ns of namespaces) await ns.delete();
  await helper?.stop();
  await outside?.delete();
  if (grpcDir) rmSync(grpcDir, { recursive: true, force: true });
});

describe('a helper with an uplink', () => {
  it('startup.sh puts the uplink on br-ex and maps OVN network "external" to it; the controller adds the external switch', async () => {
    expect((await helper.vsctl('list-ports', 'br-ex')).split('\n')).toContain('uplink0');
    expect((await helper.vsctl('get', 'Bridge', 'br-ex', 'datapath_type')).trim()).toBe('netdev');
    expect(
      (await helper.vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-mappings')).trim(),
    ).toBe('"external:br-ex"');
    expect(await nbFind('Logical_Switch_Port', 'type,options', 'name=an-ext-ln')).toBe(
      'localnet\nnetwork_name=external',
    );
    expect(
      (await helper.nbctl('lsp-get-ls', 'an-ext-ln')).trim().endsWith(`(${externalLsName()})`),
    ).toBe(true);
  });

  it('CreateBridge connects a normal network: external address, gateway port on this chassis, default route, SNAT', async () => {
    await ctl.client.createBridge({
      networkId: 'ext-a',
      subnet: '203.0.113.0/24',
      gateway: '203.0.113.1',
    });
    expect(
      (
        await helper.nbctl(
          'get',
          'Logical_Switch',
          lsName('ext-a'),
          'external_ids:"arca-net:external-ip"',
        )
      ).trim(),
    ).toBe('"198.51.100.2"');
    const lrx = lrxName('ext-a');
    expect((await helper.nbctl('get', 'Logical_Router_Port', lrx, 'networks')).trim()).toBe(
      '["198.51.100.2/24"]',
    );
    const chassis = (await helper.vsctl('get', 'Open_vSwitch', '.', 'external_ids:system-id'))
      .trim()
      .replace(/"/g, '');
    expect((await helper.nbctl('lrp-get-gateway-chassis', lrx)).trim()).toMatch(
      new RegExp(`^${lrx}-${chassis}\\s+1$`),
    );
    expect(
      (
        await helper.nbctl('get', 'Logical_Switch_Port', externalLspName('ext-a'), 'options')
      ).trim(),
    ).toBe(`{router-port=${lrx}}`);
    expect((await helper.nbctl('lr-route-list', lrName('ext-a'))).replace(/\s+/g, ' ')).toContain(
      '0.0.0.0/0 198.51.100.1 dst-ip',
    );
    expect((await helper.nbctl('lr-nat-list', lrName('ext-a'))).replace(/\s+/g, ' ')).toContain(
      'snat 198.51.100.2 203.0.113.0/24',
    );
  });

  it('a container on it pings the outside gateway, and its TCP connections arrive from the external (SNAT) address', async () => {
    const c1 = await container('u1');
    const res = await ctl.client.attachContainer({
      containerId: 'u1',
      networkId: 'ext-a',
      macAddress: '02:00:00:00:e0:01',
      hostname: 'web',
      vsockPort: 21001,
    });
    expect(res.ipAddress).toBe('203.0.113.2');
    await configure(c1, res.portName, res.ipAddress, '203.0.113.1');
    expect(await reaches(c1, '198.51.100.1')).toBe(true);
    await listen(outside, 7000);
    expect(await connectFrom(c1, '198.51.100.1', 7000)).toBe('198.51.100.2');
  });

  it('a host outside that routes a container subnet via the external address reaches no container', async () => {
    // 203.0.113.2 is u1's address (previous test); only replies and published ports may come in.
    await outside.run(['ip', 'route', 'add', '203.0.113.0/24', 'via', '198.51.100.2']);
    try {
      expect(await reaches(outside, '203.0.113.2', 2)).toBe(false);
    } finally {
      await outside.run(['ip', 'route', 'del', '203.0.113.0/24']);
    }
    const c1 = namespaces.find((ns) => ns.name === `anu${sfx}u1`)!;
    expect(await reaches(c1, '198.51.100.1')).toBe(true);
  });

  it('an internal network gets no uplink: the outside is unreachable, DNS still answers', async () => {
    await ctl.client.createBridge({
      networkId: 'int-b',
      subnet: '192.0.2.0/24',
      gateway: '192.0.2.1',
      internal: true,
    });
    expect(
      await helper
        .nbctl('get', 'Logical_Switch', lsName('int-b'), 'external_ids:"arca-net:external-ip"')
        .catch(() => 'absent'),
    ).toBe('absent');
    expect(await nbFind('Logical_Router_Port', 'name', `name=${lrxName('int-b')}`)).toBe('');
    expect((await helper.nbctl('lr-route-list', lrName('int-b'))).trim()).toBe('');
    expect((await helper.nbctl('lr-nat-list', lrName('int-b'))).trim()).toBe('');
    const c2 = await container('u2');
    const res = await ctl.client.attachContainer({
      containerId: 'u2',
      networkId: 'int-b',
      macAddress: '02:00:00:00:e0:02',
      hostname: 'vault',
      vsockPort: 21002,
    });
    await configure(c2, res.portName, res.ipAddress, '192.0.2.1');
    expect(await reaches(c2, '192.0.2.1')).toBe(true); // its own gateway answers
    expect(await reaches(c2, '198.51.100.1')).toBe(false);
    expect(await reaches(c2, '198.51.100.2')).toBe(false); // nor the other network's external address
    const answer = await c2.run(
      ['dig', '+short', '+noedns', '+time=2', '+tries=3', '@192.0.2.1', 'vault'],
      { timeoutMs: 20_000 },
    );
    expect(answer.stdout.trim()).toBe(res.ipAddress);
    expect(
      await statusOf(
        ctl.client.publishPort({
          networkId: 'int-b',
          containerId: 'u2',
          protocol: 'tcp',
          hostPort: 8080,
          containerPort: 80,
        }),
      ),
    ).toBe(Status.FAILED_PRECONDITION);
  });

  it('PublishPort makes a container listener reachable from outside at external_address; UnpublishPort removes it', async () => {
    const res = await ctl.client.publishPort({
      networkId: 'ext-a',
      containerId: 'u1',
      protocol: 'tcp',
      hostPort: 8080,
      containerPort: 80,
    });
    expect(res.externalAddress).toBe('198.51.100.2:8080');
    expect(
      (await helper.nbctl('get', 'Load_Balancer', lbName('ext-a', 'tcp', 8080), 'vips')).trim(),
    ).toBe('{"198.51.100.2:8080"="203.0.113.2:80"}');
    const c1 = namespaces.find((ns) => ns.name === `anu${sfx}u1`) as NetworkNamespace;
    await listen(c1, 80);
    // The client's own address arrives unchanged: published ports are DNAT, not SNAT.
    expect(await connectFrom(outside, '198.51.100.2', 8080)).toBe('198.51.100.1');

    await ctl.client.unpublishPort({ networkId: 'ext-a', protocol: 'tcp', hostPort: 8080 });
    expect(await nbFind('Load_Balancer', 'name', `name=${lbName('ext-a', 'tcp', 8080)}`)).toBe('');
    await listen(c1, 80); // a listener is there: only the missing load balancer stops the client
    expect(await connectFrom(outside, '198.51.100.2', 8080)).toBeUndefined();
  });

  it('a restarted controller keeps the uplink rows unchanged and traffic flowing', async () => {
    const dump = await helper.nbDump();
    await ctl.close();
    ctl = await startTestController(helper, dataPath, grpcDir, EXTERNAL);
    expect(await helper.nbDump()).toBe(dump);
    const c1 = namespaces.find((ns) => ns.name === `anu${sfx}u1`) as NetworkNamespace;
    const port = lspName('u1', 'ext-a');
    await configure(c1, port, '203.0.113.2', '203.0.113.1'); // the veth is new after a restart
    expect(await reaches(c1, '198.51.100.1')).toBe(true);
  });

  it('a network created while the helper had no uplink is connected when the controller restarts with one', async () => {
    await ctl.close();
    ctl = await startTestController(helper, dataPath, grpcDir);
    await ctl.client.createBridge({ networkId: 'late-c', subnet: '10.99.0.0/24' });
    expect(await nbFind('Logical_Router_Port', 'name', `name=${lrxName('late-c')}`)).toBe('');
    await ctl.close();
    ctl = await startTestController(helper, dataPath, grpcDir, EXTERNAL);
    expect(
      (
        await helper.nbctl(
          'get',
          'Logical_Switch',
          lsName('late-c'),
          'external_ids:"arca-net:external-ip"',
        )
      ).trim(),
    ).toBe('"198.51.100.3"');
    expect((await helper.nbctl('lr-nat-list', lrName('late-c'))).replace(/\s+/g, ' ')).toContain(
      'snat 198.51.100.3 10.99.0.0/24',
    );
    await ctl.client.deleteBridge({ networkId: 'late-c' });
  });

  it('CreateBridge refuses a subnet that overlaps the external network', async () => {
    const before = await helper.nbDump();
    expect(
      await statusOf(ctl.client.createBridge({ networkId: 'clash', subnet: '198.51.100.0/25' })),
    ).toBe(Status.ALREADY_EXISTS);
    expect(await helper.nbDump()).toBe(before);
  });

  it('DeleteBridge removes the gateway port, route, SNAT and load balancers: NB is back to before CreateBridge', async () => {
    await ctl.client.publishPort({
      networkId: 'ext-a',
      containerId: 'u1',
      protocol: 'udp',
      hostPort: 5353,
      containerPort: 53,
    });
    await ctl.client.detachContainer({ containerId: 'u1', networkId: 'ext-a' });
    await ctl.client.detachContainer({ containerId: 'u2', networkId: 'int-b' });
    await ctl.client.deleteBridge({ networkId: 'ext-a' });
    await ctl.client.deleteBridge({ networkId: 'int-b' });
    expect(await helper.nbDump()).toBe(pristine);
  });

  it('CreateBridge refuses with RESOURCE_EXHAUSTED when the external network has no address left', async () => {
    await ctl.close();
    // A /30 has two host addresses; the gateway takes one.
    const tiny = { cidr: '198.51.100.0/30', gateway: '198.51.100.1' };
    ctl = await startTestController(helper, dataPath, grpcDir, tiny);
    await ctl.client.createBridge({ networkId: 'one', subnet: '10.98.0.0/24' });
    expect(
      (await helper.nbctl('get', 'Logical_Router_Port', lrxName('one'), 'networks')).trim(),
    ).toBe('["198.51.100.2/30"]');
    const before = await helper.nbDump();
    let message = '';
    const code = await statusOf(
      ctl.client.createBridge({ networkId: 'two', subnet: '10.97.0.0/24' }),
      (m) => {
        message = m;
      },
    );
    expect(code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(message).toContain('no free address left in the external network 198.51.100.0/30');
    expect(await helper.nbDump()).toBe(before);
    // Internal networks need no external address.
    await ctl.client.createBridge({ networkId: 'three', subnet: '10.96.0.0/24', internal: true });
    await ctl.client.deleteBridge({ networkId: 'three' });
    await ctl.client.deleteBridge({ networkId: 'one' });
  });
});
