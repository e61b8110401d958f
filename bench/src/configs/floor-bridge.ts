/**
 * `floor-bridge`: two namespaces on a Linux bridge via veth, kernel switching
 * only — the vmnet-like lower bound of this machine.
 */
import { runCommand } from '@arca-net/lab';
import type { PathPair } from '../suites/path.js';

const PREFIX = 'anbfb';
const SUBNET = '198.51.100';

async function cleanup(): Promise<void> {
  for (const ns of [`${PREFIX}-a`, `${PREFIX}-b`]) {
    await runCommand(['ip', 'netns', 'del', ns]).catch(() => undefined);
  }
  await runCommand(['ip', 'link', 'del', `${PREFIX}-br`]).catch(() => undefined);
}

/** Builds the pair; `close()` removes every namespace, link and address it made. */
export async function setupFloorBridge(): Promise<PathPair> {
  await cleanup();
  await runCommand(['ip', 'link', 'add', `${PREFIX}-br`, 'type', 'bridge']);
  await runCommand(['ip', 'addr', 'add', `${SUBNET}.1/24`, 'dev', `${PREFIX}-br`]);
  await runCommand(['ip', 'link', 'set', `${PREFIX}-br`, 'up']);
  const hosts = { a: 2, b: 3 } as const;
  for (const [side, host] of Object.entries(hosts)) {
    const ns = `${PREFIX}-${side}`;
    const outer = `${PREFIX}${side}0`;
    await runCommand(['ip', 'netns', 'add', ns]);
    await runCommand([
      'ip',
      'link',
      'add',
      outer,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await runCommand(['ip', 'link', 'set', outer, 'master', `${PREFIX}-br`, 'up']);
    await runCommand(['ip', '-n', ns, 'addr', 'add', `${SUBNET}.${host}/24`, 'dev', 'eth0']);
    await runCommand(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await runCommand(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  return {
    config: 'floor-bridge',
    a: { ns: `${PREFIX}-a`, ip: `${SUBNET}.${hosts.a}` },
    b: { ns: `${PREFIX}-b`, ip: `${SUBNET}.${hosts.b}` },
    gateway: `${SUBNET}.1`,
    close: cleanup,
  };
}
