/**
 * A connect while the helper's ovn-northd is down fails at once with an
 * error that names the cause (NORTHD_UNAVAILABLE, exit code 3), not as
 * "helper VM unreachable: DEADLINE_EXCEEDED" after the host's deadline, and
 * leaves nothing behind; once northd is back the same connect works.
 *
 * startup.sh's supervisor restarts a killed northd within a tick, so the test
 * pauses the supervisor (SIGSTOP) of its own lab before it kills northd, and
 * resumes it afterwards; the supervisor then restarts northd as it would
 * after any crash.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPidfile, tryCommand, waitFor } from '../../packages/lab/dist/index.js';
import { LabHarness } from './harness.js';

const lab = new LabHarness('northd');
const run = () => join(lab.dir, 'helper', 'run');
let pausedSupervisor: number | undefined;

interface Container {
  attachments: Array<{ networkName: string }>;
}

/** True when northd answers `Status: active` on its control socket. */
async function northdActive(): Promise<boolean> {
  const status = await tryCommand(['ovs-appctl', '-t', join(run(), 'ovn-northd.ctl'), 'status']);
  return status.code === 0 && status.stdout.includes('active');
}

function resumeSupervisor(): void {
  if (pausedSupervisor === undefined) return;
  process.kill(pausedSupervisor, 'SIGCONT');
  pausedSupervisor = undefined;
}

beforeAll(async () => {
  await lab.up({ first: '10.77.0.0/24', second: '10.77.1.0/24' }, { web: 'first' });
}, 300_000);

afterAll(async () => {
  resumeSupervisor();
  await lab.down();
});

describe('northd down', () => {
  it('a connect fails with NORTHD_UNAVAILABLE naming northd, and works once northd is back', async () => {
    const supervisor = await readPidfile(join(run(), 'supervisor.pid'));
    const northd = await readPidfile(join(run(), 'ovn-northd.pid'));
    expect(supervisor).toBeGreaterThan(0);
    expect(northd).toBeGreaterThan(0);
    process.kill(supervisor as number, 'SIGSTOP');
    pausedSupervisor = supervisor;
    process.kill(northd as number, 'SIGKILL');
    expect(await waitFor(async () => !(await northdActive()), { timeoutMs: 10_000 })).toBe(true);

    const failed = await lab.cli('network', 'connect', 'second', 'web');
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain('OVN northd is not running in the helper VM');
    expect(failed.stderr).not.toContain('DEADLINE_EXCEEDED');
    expect(failed.stderr).not.toContain('unreachable');
    // Nothing half-made: web is still on its one network.
    const web = await lab.json<Container>('lab', 'stats', 'web');
    expect(web.attachments.map((a) => a.networkName)).toEqual(['first']);

    resumeSupervisor();
    expect(await waitFor(northdActive, { timeoutMs: 30_000, intervalMs: 200 })).toBe(true);
    await lab.ok('network', 'connect', 'second', 'web');
    const after = await lab.json<Container>('lab', 'stats', 'web');
    expect(after.attachments.map((a) => a.networkName).sort()).toEqual(['first', 'second']);
  }, 120_000);
});
