/**
 * `arca-net-controller --health-check`: asks the controller listening on
 * `--listen` (ARCA_CONTROLLER_LISTEN) for grpc.health.v1 `Check` of the whole
 * server; SERVING is healthy. The image's HEALTHCHECK runs it. For `unixdir:`
 * it dials `DIR/<port>.sock`; for `vsock` the local CID (VMADDR_CID_LOCAL, 1:
 * the kernel needs vsock loopback).
 */
import { health } from '@arca-net/proto';
import { createDialProxy } from '@arca-net/vsock';
import { createChannel, createClient } from 'nice-grpc';
import { parseControllerListen } from './server/server.js';

/** VMADDR_CID_LOCAL: this machine's own vsock address. */
const VSOCK_CID_LOCAL = 1;

/** The serving status name (`SERVING`, `NOT_SERVING`, …) the controller at `listen` reports. */
export async function checkControllerHealth(listen: string, timeoutMs = 5000): Promise<string> {
  const address = parseControllerListen(listen);
  const proxy =
    address.endpoint.kind === 'vsock'
      ? await createDialProxy({ kind: 'vsock', cid: VSOCK_CID_LOCAL }, address.port)
      : undefined;
  const socketPath =
    proxy?.path ??
    (address.endpoint.kind === 'unixdir' ? `${address.endpoint.dir}/${address.port}.sock` : '');
  const channel = createChannel(`unix://${socketPath}`);
  try {
    const client = createClient(health.HealthDefinition, channel);
    const reply = await client.check({ service: '' }, { signal: AbortSignal.timeout(timeoutMs) });
    return health.healthCheckResponse_ServingStatusToJSON(reply.status);
  } finally {
    channel.close();
    await proxy?.close();
  }
}
