/**
 * The lab's fake upstream resolver: a namespace `<prefix>-upstream` at
 * 203.0.113.53/24 (documentation range) behind the outside world
 * (`<prefix>-outside` routes 203.0.113.0/24 to it), running an authoritative
 * @arca-net/dns server with a few external names. Lab networks reach it
 * through their routers like any outside address; the helper's per-network
 * resolvers reach it through the helper's uplink. It goes with its namespace
 * on `lab down`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNamespace, runCommand } from '../command.js';
import { createNamespace, deleteNamespace } from '../netns.js';
import type { LabPaths } from '../paths.js';
import { processAlive, spawnDetached, waitFor } from '../processes.js';

/** The fake upstream's address, and the outside world's address on its link. */
export const UPSTREAM_ADDRESS = '203.0.113.53';
export const UPSTREAM_LINK_GATEWAY = '203.0.113.1';
export const UPSTREAM_CIDR = '203.0.113.0/24';
/** What the fake upstream knows (anything else is NXDOMAIN). */
export const UPSTREAM_RECORDS: Readonly<Record<string, string>> = {
  'www.example.com': '203.0.113.80',
  'external.example': '203.0.113.81',
};

const resolverMain = fileURLToPath(new URL('./main.js', import.meta.url));

/** The pidfile of the fake upstream resolver. */
export function upstreamPidfile(paths: LabPaths): string {
  return join(paths.pidsDir, 'upstream.pid');
}

/**
 * Creates `<prefix>-upstream`, links it to the (existing) outside namespace,
 * starts the resolver in it and waits until it answers on TCP 53.
 */
export async function createUpstream(paths: LabPaths, timeoutMs: number): Promise<void> {
  const ns = paths.upstreamNamespace;
  const outside = paths.outsideNamespace;
  await createNamespace(ns);
  try {
    await runCommand([
      ...['ip', 'link', 'add', 'up0', 'netns', outside, 'type', 'veth'],
      ...['peer', 'name', 'eth0', 'netns', ns],
    ]);
    await runCommand([
      'ip',
      '-n',
      outside,
      'addr',
      'add',
      `${UPSTREAM_LINK_GATEWAY}/24`,
      'dev',
      'up0',
    ]);
    await runCommand(['ip', '-n', outside, 'link', 'set', 'up0', 'up']);
    await runCommand(inNamespace(outside, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']));
    await runCommand(['ip', '-n', ns, 'addr', 'add', `${UPSTREAM_ADDRESS}/24`, 'dev', 'eth0']);
    await runCommand(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    await runCommand(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await runCommand(['ip', '-n', ns, 'route', 'add', 'default', 'via', UPSTREAM_LINK_GATEWAY]);
    const pid = await spawnDetached(
      inNamespace(ns, [process.execPath, resolverMain, '--lab-dir', paths.dir]),
      { logFile: paths.log('upstream'), pidfile: upstreamPidfile(paths) },
    );
    const ready = await waitFor(
      async () =>
        !(await processAlive(pid)) ||
        (await runCommand(
          inNamespace(ns, ['bash', '-c', `exec 3<>/dev/tcp/${UPSTREAM_ADDRESS}/53`]),
        )
          .then(() => true)
          .catch(() => false)),
      { timeoutMs, intervalMs: 100 },
    );
    if (!ready || !(await processAlive(pid))) {
      throw new Error(`fake upstream resolver did not start (log: ${paths.log('upstream')})`);
    }
  } catch (error) {
    await deleteNamespace(ns).catch(() => undefined);
    throw error;
  }
}
