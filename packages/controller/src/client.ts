/**
 * A NetworkControl client over a Unix socket (grpc-js `unix://` address), for
 * the lab, tests and tools running next to the controller.
 */
import { network } from '@arca-net/proto';
import { createChannel, createClient } from 'nice-grpc';

/** A connected client and the way to close its channel. */
export interface ControllerClient {
  client: network.NetworkControlClient;
  close(): void;
}

/** Connects to the controller listening on the Unix socket `socketPath`. */
export function connectController(socketPath: string): ControllerClient {
  const channel = createChannel(`unix://${socketPath}`);
  return {
    client: createClient(network.NetworkControlDefinition, channel),
    close: () => channel.close(),
  };
}
