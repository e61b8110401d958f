/**
 * A client of one forwarder's gRPC socket (TAPForwarder + health), for the
 * lab, tests and benchmarks that reach it through a Unix socket.
 */
import { tapforwarder } from '@arca-net/proto';
import { type Client, createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';

export interface ForwarderClient {
  forwarder: Client<tapforwarder.TAPForwarderDefinition>;
  health: Client<typeof HealthDefinition>;
  /** True once health reports SERVING. */
  isServing(): Promise<boolean>;
  close(): void;
}

/** Connects (lazily) to the forwarder listening on the Unix socket `socketPath`. */
export function connectForwarder(socketPath: string): ForwarderClient {
  const channel = createChannel(`unix://${socketPath}`);
  const health = createClient(HealthDefinition, channel);
  return {
    forwarder: createClient(tapforwarder.TAPForwarderDefinition, channel),
    health,
    isServing: () =>
      health.check({ service: '' }).then(
        (reply) => reply.status === 1,
        () => false,
      ),
    close: () => channel.close(),
  };
}
