/**
 * A gRPC server-reflection client for the integration suites: what
 * `grpcurl list` / `grpcurl describe` ask a server, over its Unix socket.
 */
import { createChannel, createClient } from 'nice-grpc';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import reflectionPb from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';

const { ServerReflectionRequest } = reflectionPb;

/** What reflection told about a server. */
export interface Reflected {
  /** Full names of the services it lists. */
  services: string[];
  /** For each listed service: whether reflection can describe it (a file containing the symbol). */
  described: Record<string, boolean>;
}

/** Lists the services of the server on `socketPath` and asks for each one's descriptor. */
export async function reflect(socketPath: string): Promise<Reflected> {
  const channel = createChannel(`unix://${socketPath}`);
  try {
    const client = createClient(ServerReflectionService, channel);
    const ask = async (fill: (r: InstanceType<typeof ServerReflectionRequest>) => void) => {
      const request = new ServerReflectionRequest();
      fill(request);
      async function* one() {
        yield request;
      }
      for await (const response of client.serverReflectionInfo(one())) return response;
      throw new Error('no reflection response');
    };
    const listed = await ask((r) => r.setListServices(''));
    const services = (listed.getListServicesResponse()?.getServiceList() ?? []).map((s) =>
      s.getName(),
    );
    const described: Record<string, boolean> = {};
    for (const name of services) {
      const response = await ask((r) => r.setFileContainingSymbol(name));
      const files = response.getFileDescriptorResponse()?.getFileDescriptorProtoList() ?? [];
      described[name] = response.getErrorResponse() === undefined && files.length > 0;
    }
    return { services: services.sort(), described };
  } finally {
    channel.close();
  }
}
