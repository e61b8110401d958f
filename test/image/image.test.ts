/**
 * The helper-VM image itself (issue 17): `helpervm/image.sh test` builds it
 * from a debootstrap Debian 12 base in a private dockerd (harness.ts);
 * testcontainers starts it privileged with its state directory and the
 * controller's unixdir bind-mounted, waiting on the image's HEALTHCHECK
 * (grpc.health.v1 SERVING). NetworkControl over the bind-mounted socket
 * creates networks and attachments, checked in OVN with `exec` of ovn-nbctl /
 * ovn-sbctl; a new container on the same state, and a `docker restart` of the
 * same container, find them again and bind the ports again. Needs root,
 * docker.io and debootstrap (`make setup`); the root fs is cached in
 * /var/cache/arca-net after the first run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControllerClient,
  connectController,
  lsName,
  lspName,
} from '../../packages/controller/dist/index.js';
import { runCommand, uniqueSuffix, waitFor } from '../../packages/lab/dist/index.js';
import { healthClient, statusName } from '../grpc-ecosystem.js';
import { helperCtl, ImageWorld } from './harness.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const sfx = uniqueSuffix();
let world: ImageWorld;
let helper: StartedTestContainer;
let ctl: ControllerClient;

const NETWORKS = [
  { networkId: 'net-img-a', subnet: '198.51.100.0/24', name: 'alpha' },
  { networkId: 'net-img-b', subnet: '203.0.113.0/24', name: 'beta' },
];
const ATTACHMENTS = [
  { containerId: 'c1', networkId: 'net-img-a', macAddress: '02:00:00:00:b0:01', vsockPort: 21001 },
  { containerId: 'c2', networkId: 'net-img-a', macAddress: '02:00:00:00:b0:02', vsockPort: 21002 },
  { containerId: 'c1', networkId: 'net-img-b', macAddress: '02:00:00:00:b1:01', vsockPort: 21003 },
];

/** A helper container on the world's state, and a client on its bind-mounted socket. */
async function startHelper(name: string): Promise<void> {
  helper = await world.startHelper(`${name}-${sfx}`);
  ctl?.close();
  ctl = connectController(world.grpcSocket);
}

/** What the controller lists, in a stable order. */
async function listed(): Promise<string> {
  const { bridges } = await ctl.client.listBridges({});
  return JSON.stringify(
    bridges
      .map((b) => ({
        id: b.networkId,
        subnet: b.subnet,
        name: b.name,
        endpoints: b.endpoints.map((e) => `${e.containerId} ${e.ipAddress} ${e.macAddress}`).sort(),
      }))
      .sort((x, y) => x.id.localeCompare(y.id)),
  );
}

/** Every attachment's logical port is bound and up (ovn-controller found its interface). */
async function portsUp(): Promise<boolean> {
  for (const a of ATTACHMENTS) {
    const up = await helperCtl(
      helper,
      'ovn-sbctl',
      '--bare',
      '--columns=up',
      'find',
      'Port_Binding',
      `logical_port=${lspName(a.containerId, a.networkId)}`,
    );
    if (up.trim() !== 'true') return false;
  }
  return true;
}

beforeAll(async () => {
  world = await ImageWorld.start(join('/var/tmp', `arca-image-${sfx}`), `aim${sfx}`);
  await startHelper('helper');
}, 900_000);

afterAll(async () => {
  ctl?.close();
  await world?.stop();
});

describe('the helper-VM test image', () => {
  it('is healthy once the controller says SERVING; NetworkControl and health answer on the bind-mounted socket', async () => {
    const health = healthClient(world.grpcSocket);
    try {
      expect(statusName(await health.client.Check({ service: '' }))).toBe('SERVING');
      expect(
        statusName(await health.client.Check({ service: 'arca.network.NetworkControl' })),
      ).toBe('SERVING');
    } finally {
      health.close();
    }
    const check = await helper.exec(['/usr/bin/arca-net-controller', '--health-check']);
    expect({ exitCode: check.exitCode, stdout: check.stdout.trim() }).toEqual({
      exitCode: 0,
      stdout: 'controller SERVING',
    });
    expect((await ctl.client.listBridges({})).bridges).toEqual([]);
  });

  it('creates networks and attachments through NetworkControl, written to OVN', async () => {
    for (const n of NETWORKS) {
      expect(await ctl.client.createBridge(n)).toMatchObject({ success: true, subnet: n.subnet });
    }
    for (const a of ATTACHMENTS) {
      const res = await ctl.client.attachContainer(a);
      expect(res).toMatchObject({ success: true, macAddress: a.macAddress });
      expect(
        (
          await helperCtl(
            helper,
            'ovn-nbctl',
            'get',
            'Logical_Switch_Port',
            res.portName,
            'addresses',
          )
        ).trim(),
      ).toBe(`["${a.macAddress} ${res.ipAddress}"]`);
    }
    const switches = await helperCtl(
      helper,
      'ovn-nbctl',
      '--bare',
      '--columns=name',
      'list',
      'Logical_Switch',
    );
    for (const n of NETWORKS) expect(switches).toContain(lsName(n.networkId));
    expect(await waitFor(portsUp, { timeoutMs: 30_000, intervalMs: 200 })).toBe(true);
  });

  it('a new container on the same state has the networks and attachments again, ports bound', async () => {
    const before = await listed();
    const nb = await helperCtl(helper, 'ovn-nbctl', 'show');
    await helper.stop();
    await startHelper('helper2');
    expect(await listed()).toBe(before);
    expect(await helperCtl(helper, 'ovn-nbctl', 'show')).toBe(nb);
    expect(await waitFor(portsUp, { timeoutMs: 30_000, intervalMs: 200 })).toBe(true);
  });

  it('a docker restart of the same container (restart policy) comes back healthy with the same state', async () => {
    const before = await listed();
    await helper.restart();
    const healthy = await waitFor(
      async () =>
        (
          await world.dockerd.docker(['inspect', '-f', '{{.State.Health.Status}}', helper.getId()])
        ).stdout.trim() === 'healthy',
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(healthy).toBe(true);
    // The second boot found the first one's pidfiles in /run and dropped them.
    expect(await world.logs(helper.getId())).toMatch(
      /removed \S+ovsdb-server-ovs\.pid of an earlier boot/,
    );
    ctl.close();
    ctl = connectController(world.grpcSocket);
    expect(await listed()).toBe(before);
    expect(await waitFor(portsUp, { timeoutMs: 30_000, intervalMs: 200 })).toBe(true);
  });

  it('the entrypoint restarts a killed controller: SERVING again, same state', async () => {
    const before = await listed();
    const pidOf = async () =>
      (await helper.exec(['cat', '/run/arca-net-helper/controller.pid'])).stdout.trim();
    const first = await pidOf();
    const kill = await helper.exec(['kill', '-KILL', first]);
    expect(kill.exitCode).toBe(0);
    const back = await waitFor(
      async () => {
        const pid = await pidOf();
        if (pid === '' || pid === first) return false;
        const check = await helper.exec(['/usr/bin/arca-net-controller', '--health-check']);
        return check.exitCode === 0;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(back).toBe(true);
    expect(
      (await helper.exec(['cat', '/run/arca-net-helper/controller.restarts'])).stdout.trim(),
    ).toBe('1');
    expect(await world.logs(helper.getId())).toContain('supervisor: controller exited');
    ctl.close();
    ctl = connectController(world.grpcSocket);
    expect(await listed()).toBe(before);
    expect(await waitFor(portsUp, { timeoutMs: 30_000, intervalMs: 200 })).toBe(true);
  });

  it('the entrypoint restarts a killed OVN daemon (ovn-northd); NetworkControl keeps working', async () => {
    const pid = (await helper.exec(['cat', '/run/arca-net-helper/ovn-northd.pid'])).stdout.trim();
    expect((await helper.exec(['kill', '-KILL', pid])).exitCode).toBe(0);
    const back = await waitFor(
      async () => {
        const now = (
          await helper.exec(['cat', '/run/arca-net-helper/ovn-northd.pid'])
        ).stdout.trim();
        if (now === '' || now === pid) return false;
        return (await helper.exec(['kill', '-0', now])).exitCode === 0;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(back).toBe(true);
    expect(await world.logs(helper.getId())).toContain('supervisor: ovn-northd is gone');
    const res = await ctl.client.attachContainer({
      containerId: 'c3',
      networkId: 'net-img-b',
      macAddress: '02:00:00:00:b1:03',
      vsockPort: 21004,
    });
    expect(res.success).toBe(true);
    const up = async () =>
      (
        await helperCtl(
          helper,
          'ovn-sbctl',
          '--bare',
          '--columns=up',
          'find',
          'Port_Binding',
          `logical_port=${res.portName}`,
        )
      ).trim() === 'true';
    expect(await waitFor(up, { timeoutMs: 30_000, intervalMs: 200 })).toBe(true);
  });

  it('the production path (image.sh production) builds the shared layers on a given base and exports an OCI layout', async () => {
    const base = (
      await world.dockerd.docker([
        'images',
        '--format',
        '{{.Repository}}:{{.Tag}}',
        'arca-net/helpervm-base',
      ])
    ).stdout
      .trim()
      .split('\n')[0] as string;
    const oci = join(world.dir, 'oci');
    await runCommand([join(repo, 'helpervm/image.sh'), 'production'], {
      env: {
        ...process.env,
        DOCKER_HOST: world.dockerd.host,
        HELPERVM_BASE_IMAGE: base,
        HELPERVM_IMAGE: 'arca-net/helpervm:oci-check',
        HELPERVM_OCI_DIR: oci,
      },
      timeoutMs: 300_000,
    });
    expect(JSON.parse(readFileSync(join(oci, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const blob = (digest: string) =>
      JSON.parse(readFileSync(join(oci, 'blobs', ...digest.split(':')), 'utf8'));
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
    const manifest = blob(index.manifests[0].digest);
    const { config } = blob(manifest.config.digest);
    expect(config.Entrypoint).toEqual(['/usr/sbin/arca-net-helper', 'run']);
    expect(config.Env).toContain('ARCA_CONTROLLER_LISTEN=vsock:9999');
    expect(Object.keys(config.Volumes)).toEqual(['/var/lib/arca-net-helper']);
  });
});
