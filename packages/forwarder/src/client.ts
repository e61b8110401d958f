/**
 * A client of one forwarder's gRPC socket (TAPForwarder + health), for the
 * lab, tests and benchmarks that reach it through a Unix socket.
 */
import { health as healthProto, tapforwarder } from '@arca-net/proto';
import { type Client, createChannel, createClient } from 'nice-grpc';

export interface ForwarderClient {
  forwarder: Client<tapforwarder.TAPForwarderDefinition>;
  health: Client<healthProto.HealthDefinition>;
  /** True once health reports SERVING. */
  isServing(): Promise<boolean>;
  close(): void;
}

/** Connects (lazily) to the forwarder listening on the Unix socket `socketPath`. */
export function connectForwarder(socketPath: string): ForwarderClient {
  const channel = createChannel(`unix://${socketPath}`);
  const health = createClient(healthProto.HealthDefinition, channel);
  return {
    forwarder: createClient(tapforwarder.TAPForwarderDefinition, channel),
    health,
    isServing: () =>
      health.check({ service: '' }).then(
        (reply) => reply.status === healthProto.HealthCheckResponse_ServingStatus.SERVING,
        () => false,
      ),
    close: () => channel.close(),
  };
}
