/**
 * gRPC server reflection, v1 and v1alpha, over the descriptor set that
 * `make proto` writes (@arca-net/proto's `descriptorSetPath`). Many clients
 * (grpc-js-reflection-client, older grpcurl) ask v1alpha first; its messages
 * are wire-identical to v1's, so one implementation serves both paths.
 */
import { readFileSync } from 'node:fs';
import { descriptorSetPath } from '@arca-net/proto';
import type { Server } from 'nice-grpc';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';

/** grpc.reflection.v1alpha.ServerReflection: v1's method under the v1alpha path. */
export const ServerReflectionV1AlphaService = {
  serverReflectionInfo: {
    ...ServerReflectionService.serverReflectionInfo,
    path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
  },
};

/** Adds reflection v1 and v1alpha to `server`, listing and describing `serviceNames`. */
export function addReflection(server: Server, serviceNames: readonly string[]): void {
  const reflection = ServerReflection(readFileSync(descriptorSetPath), serviceNames);
  server.add(ServerReflectionService, reflection);
  server.add(ServerReflectionV1AlphaService, reflection);
}
