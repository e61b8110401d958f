/**
 * `peer-vde`: a peer measured side by side, the same shape as socket_vmnet
 * (one userspace switch, each VM's NIC a TAP joined to it over a Unix
 * stream): Debian's vde2, one `vde_switch` in the root namespace and one
 * `vde_plug2tap` per namespace (its TAP is eth0 there). MTU 1500, no
 * offloads: what such peers move per frame.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { runCommand } from '@arca-net/lab';
import type { PathPair } from '../suites/path.js';

const PREFIX = 'anbvde';
const DIR = '/run/arca-net/bench-vde';
const SUBNET = '198.18.1';

async function pidOf(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function cleanup(): Promise<void> {
  for (const name of ['plug-a', 'plug-b', 'switch']) {
    const pid = await pidOf(`${DIR}/${name}.pid`);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }
  for (const ns of [`${PREFIX}-a`, `${PREFIX}-b`]) {
    await runCommand(['ip', 'netns', 'del', ns]).catch(() => undefined);
  }
  await rm(DIR, { recursive: true, force: true });
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`peer-vde: ${what} not ready after 5 s`);
}

/** Builds the pair; `close()` stops the switch and plugs and removes the namespaces. */
export async function setupPeerVde(): Promise<PathPair> {
  await cleanup();
  await mkdir(DIR, { recursive: true });
  try {
    await runCommand([
      'vde_switch',
      '--sock',
      `${DIR}/switch.ctl`,
      '--daemon',
      '--pidfile',
      `${DIR}/switch.pid`,
    ]);
    await until(async () => (await pidOf(`${DIR}/switch.pid`)) !== undefined, 'vde_switch');
    const hosts = { a: 2, b: 3 } as const;
    for (const [side, host] of Object.entries(hosts)) {
      const ns = `${PREFIX}-${side}`;
      await runCommand(['ip', 'netns', 'add', ns]);
      await runCommand(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await runCommand([
        'ip',
        'netns',
        'exec',
        ns,
        'vde_plug2tap',
        '--sock',
        `${DIR}/switch.ctl`,
        '--daemon',
        '--pidfile',
        `${DIR}/plug-${side}.pid`,
        'eth0',
      ]);
      await until(
        async () =>
          (await runCommand(['ip', '-n', ns, 'link', 'show', 'eth0']).then(
            () => true,
            () => false,
          )) && (await pidOf(`${DIR}/plug-${side}.pid`)) !== undefined,
        `vde_plug2tap in ${ns}`,
      );
      await runCommand(['ip', '-n', ns, 'addr', 'add', `${SUBNET}.${host}/24`, 'dev', 'eth0']);
      await runCommand(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    const pids = async (): Promise<Record<string, number[]>> => {
      const all = await Promise.all(
        ['switch', 'plug-a', 'plug-b'].map((name) => pidOf(`${DIR}/${name}.pid`)),
      );
      const [sw, pa, pb] = all;
      return {
        vde_switch: sw === undefined ? [] : [sw],
        'vde_plug2tap (both)': [pa, pb].filter((p): p is number => p !== undefined),
      };
    };
    return {
      config: 'peer-vde',
      a: { ns: `${PREFIX}-a`, ip: `${SUBNET}.${hosts.a}` },
      b: { ns: `${PREFIX}-b`, ip: `${SUBNET}.${hosts.b}` },
      // No gateway on a bare switch: the "gateway" ping goes to the peer too.
      gateway: `${SUBNET}.${hosts.b}`,
      processes: pids,
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
