/**
 * The tour's published-port step: `lab run -p 7000` (a free host port), an
 * echo server in the container, and a round trip from the host's loopback
 * through the host listener, the helper's forwarder and the network's load
 * balancer.
 */
import { connect } from 'node:net';
import type { LabClient } from './api/client.js';
import type { LabContainer } from './api/routes.js';
import { startRrServer } from './probes/tcp-rr.js';

const CONTAINER_PORT = 7000;

/** What the tour lends this step: its step and check runners. */
export interface TourSteps {
  step<T>(title: string, work: () => Promise<T>, detail?: (r: T) => string): Promise<T | undefined>;
  expect(title: string, work: () => Promise<{ ok: boolean; detail: string }>): Promise<void>;
}

/** Sends `text` to 127.0.0.1:port and resolves with what comes back first. */
function echo(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString());
    });
    socket.once('error', reject);
  });
}

/** Runs the step on `network`; the container stays (the tour's teardown removes it). */
export async function tourPublishedPort(
  tour: TourSteps,
  host: LabClient,
  network: string,
): Promise<void> {
  const shop = await tour.step(
    `lab run --network ${network} -p ${CONTAINER_PORT} shop`,
    () => host.runContainer({ name: 'shop', network, publish: [String(CONTAINER_PORT)] }),
    (c: LabContainer) =>
      c.ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}`).join(', '),
  );
  const binding = shop?.ports[0];
  if (!shop || !binding) return;
  const server = await tour.step(`echo server on shop:${CONTAINER_PORT}`, () =>
    startRrServer(shop.namespace, CONTAINER_PORT),
  );
  try {
    await tour.expect(`host 127.0.0.1:${binding.hostPort} → shop:${CONTAINER_PORT}`, async () => {
      const started = performance.now();
      const answer = await echo(binding.hostPort, 'hello');
      const ms = (performance.now() - started).toFixed(1);
      return {
        ok: answer === 'hello',
        detail: `'${answer}' echoed back in ${ms} ms (host listener → helper forwarder → OVN load balancer at ${binding.externalAddress} → shop)`,
      };
    });
  } finally {
    server?.kill();
  }
}
