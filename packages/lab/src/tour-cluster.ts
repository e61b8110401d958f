/**
 * The cluster tour (`arca-net lab demo --hosts 2`, docs/cluster.md): two
 * simulated hosts, one overlay network across them, a container on each
 * pinging the other by name over the Geneve tunnel, DHCP from OVN on both,
 * and a bridge network that stays on its host.
 */
import { LabClient } from './api/client.js';
import type { LabContainer } from './api/routes.js';
import { hostPaths, UNDERLAY_CIDR } from './cluster.js';
import type { LabPaths } from './paths.js';
import { dhcpLease } from './probes/dhcp.js';
import { ping } from './probes/ping.js';
import { Steps, type TourOptions } from './tour.js';

/** Runs the cluster tour on the lab in `paths` with `hosts` hosts; resolves with the failed steps. */
export async function runClusterTour(
  paths: LabPaths,
  hosts: number,
  options: TourOptions,
): Promise<number> {
  const tour = new Steps(options.report);
  tour.heading(
    `1. A cluster of ${hosts} hosts: each a lab host and a helper (an OVN chassis) on the underlay ${UNDERLAY_CIDR}; host 1's helper is the central`,
  );
  if (!(await tour.labUp(paths, { hosts }))) return tour.failures;
  const clients = Array.from(
    { length: hosts },
    (_, i) => new LabClient(hostPaths(paths, i + 1).hostSocket),
  );
  const first = clients[0] as LabClient;
  const last = clients[hosts - 1] as LabClient;
  const pingFrom = (c: LabContainer, target: string) =>
    ping(c.namespace, target, { count: 3, intervalSeconds: 0.2, waitSeconds: 2 });
  const replies = (r: { received: number; sent: number }) => `${r.received}/${r.sent} replies`;
  try {
    tour.heading('2. An overlay network: created once in the central NB, seen by every host');
    await tour.step(
      'network create -d overlay ov (host 1)',
      () => first.createNetwork({ name: 'ov', driver: 'overlay' }),
      (n) =>
        `${n.IPAM.Config[0]?.Subnet}, scope ${n.Scope}, MTU ${n.Options['com.docker.network.driver.mtu']}`,
    );
    await tour.expect(`network ls on host ${hosts} shows it`, async () => {
      const names = (await last.listNetworks()).map((n) => `${n.Name} (${n.Driver})`);
      return { ok: names.includes('ov (overlay)'), detail: names.join(', ') };
    });

    tour.heading('3. A container on each host; addresses come from the central (OVN IPAM)');
    const a = await tour.step(
      'lab run --network ov alpha (host 1)',
      () => first.runContainer({ name: 'alpha', network: 'ov' }),
      (c) => c.attachments.map((x) => x.ip).join(', '),
    );
    const b = await tour.step(
      `lab run --host ${hosts} --network ov beta`,
      () => last.runContainer({ name: 'beta', network: 'ov' }),
      (c) => c.attachments.map((x) => x.ip).join(', '),
    );
    if (!a || !b) return tour.failures;

    tour.heading('4. Across hosts: by name and by address, over Geneve on the underlay');
    await tour.expect('alpha → ping beta', async () => {
      const r = await pingFrom(a, 'beta');
      return { ok: r.received > 0, detail: replies(r) };
    });
    await tour.expect('beta → ping alpha', async () => {
      const r = await pingFrom(b, 'alpha');
      return { ok: r.received > 0, detail: replies(r) };
    });
    await tour.expect(`DHCP on host ${hosts} (OVN answers on every chassis)`, async () => {
      const lease = await dhcpLease(b.namespace, 'eth0');
      const ip = b.attachments[0]?.ip;
      return {
        ok: lease?.ip === ip,
        detail: lease ? `${lease.ip} from ${lease.server}` : 'no lease',
      };
    });

    tour.heading('5. A bridge network stays on its host');
    await tour.step('network create local (host 1)', () => first.createNetwork({ name: 'local' }));
    await tour.expect(`host ${hosts} does not see it`, async () => {
      const names = (await last.listNetworks()).map((n) => n.Name);
      return { ok: !names.includes('local'), detail: `host ${hosts}: ${names.join(', ')}` };
    });
    options.report({ kind: 'containers', containers: [a, b] });
  } finally {
    if (!options.keep) {
      await tour.labDown('6. Tear down', paths, (n) => `${n} namespaces of ${hosts} hosts removed`);
    }
  }
  return tour.failures;
}
