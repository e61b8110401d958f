/**
 * `lab up --host-relay native|ts|polling`: the engine `lab up` recorded in
 * `lab.json` is the one `lab status` names, the one on the lab host's
 * command line, and the one that relays: native relays run on loop threads
 * named `arca-relay`, the reference engines (what `make bench` compares)
 * relay on the JS thread. The whole path carries traffic between two
 * containers with each. (198.51.100.0/24 is the lab's outside network, so
 * the containers here use 192.0.2.0/24.)
 */
import { readdir, readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabContainer, LabSettings } from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

let lab: LabHarness | undefined;

afterEach(async () => {
  await lab?.down();
  lab = undefined;
});

/** Names of the threads of `pid` (`/proc/PID/task/*\/comm`). */
async function threadNames(pid: number): Promise<string[]> {
  const tasks = await readdir(`/proc/${pid}/task`);
  return Promise.all(
    tasks.map(async (tid) => (await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8')).trim()),
  );
}

describe('lab up --host-relay', () => {
  for (const engine of ['native', 'ts', 'polling'] as const) {
    it(`${engine}: lab.json, lab status, the lab host's argv and its threads agree, and two containers ping each other`, async () => {
      lab = new LabHarness(`relay-${engine}`);
      await lab.ok('lab', 'up', '--host-relay', engine, '--quiet');
      const settings = JSON.parse(await readFile(`${lab.dir}/lab.json`, 'utf8')) as LabSettings;
      expect(settings.hostRelay).toBe(engine);

      const status = await lab.cli('lab', 'status');
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(`${settings.hostRelay} relays`);
      const hostPid = Number((await readFile(`${lab.dir}/host.pid`, 'utf8')).trim());
      const argv = (await readFile(`/proc/${hostPid}/cmdline`, 'utf8')).split('\0');
      expect(argv).toContain(lab.dir);
      expect(argv[argv.indexOf('--host-relay') + 1]).toBe(settings.hostRelay);

      await lab.ok('network', 'create', '--subnet', '192.0.2.0/24', 'net');
      await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.10', 'a');
      await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.11', 'b');
      const ping = await lab.exec('a', 'ping', '-c', '5', '-i', '0.2', '-W', '2', '192.0.2.11');
      expect(pingReplies(ping.stdout)).toBe(5);
      const stats = await lab.json<LabContainer>('lab', 'stats', 'a');
      expect(stats.attachments[0]?.relay?.toHelper.frames).toBeGreaterThanOrEqual(5);
      expect(stats.attachments[0]?.relay?.toContainer.frames).toBeGreaterThanOrEqual(5);
      expect((await threadNames(hostPid)).includes('arca-relay')).toBe(engine === 'native');
    });
  }
});
