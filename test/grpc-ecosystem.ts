/**
 * What a new user's common gRPC clients ask a server, over its Unix socket:
 * `grpcurl list` / `grpcurl describe` (server reflection, v1 or v1alpha, the
 * version clients such as grpc-js-reflection-client ask first) and health
 * probes (grpc.health.v1 Check, Watch and List, with a client built from the
 * published health.proto by @grpc/proto-loader, as grpc-js users build one).
 */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { type Client, ClientError, createChannel, createClient, Status } from 'nice-grpc';
import { ServerReflectionService } from 'nice-grpc-server-reflection';
import reflectionPb from 'nice-grpc-server-reflection/lib/proto/grpc/reflection/v1/reflection_pb.js';

const { ServerReflectionRequest } = reflectionPb;

/** The reflection protocol a client speaks: same messages, two service paths. */
export type ReflectionVersion = 'v1' | 'v1alpha';

const reflectionDefinitions = {
  v1: ServerReflectionService,
  v1alpha: {
    serverReflectionInfo: {
      ...ServerReflectionService.serverReflectionInfo,
      path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
    },
  },
};

/** What reflection told about a server. */
export interface Reflected {
  /** Full names of the services it lists. */
  services: string[];
  /** For each listed service: whether reflection can describe it (a file containing the symbol). */
  described: Record<string, boolean>;
}

/** Lists the services of the server on `socketPath` and asks for each one's descriptor. */
export async function reflect(
  socketPath: string,
  version: ReflectionVersion = 'v1',
): Promise<Reflected> {
  const channel = createChannel(`unix://${socketPath}`);
  try {
    const client = createClient(reflectionDefinitions[version], channel);
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

const healthProto = fileURLToPath(
  new URL('../packages/proto/node_modules/grpc-health-check/proto', import.meta.url),
);
type Method<Streams extends boolean> = protoLoader.MethodDefinition<object, object> & {
  requestStream: false;
  responseStream: Streams;
};
const healthDefinition = (() => {
  const loaded = protoLoader.loadSync('health/v1/health.proto', {
    includeDirs: [healthProto],
    enums: String,
    defaults: true,
  });
  const service = loaded['grpc.health.v1.Health'];
  if (!service || !('Check' in service && 'Watch' in service && 'List' in service)) {
    throw new Error('health.proto has no grpc.health.v1.Health with Check, Watch and List');
  }
  return service as { Check: Method<false>; Watch: Method<true>; List: Method<false> };
})();

/** A grpc.health.v1.Health client built from the published health.proto (statuses as names). */
export type HealthClient = Client<typeof healthDefinition>;

/** A health client on the server at `socketPath`; `close()` closes its channel. */
export function healthClient(socketPath: string): { client: HealthClient; close(): void } {
  const channel = createChannel(`unix://${socketPath}`);
  return { client: createClient(healthDefinition, channel), close: () => channel.close() };
}

/** The serving status (`SERVING`, …) in a health reply. */
export function statusName(reply: object): string {
  return String((reply as { status?: unknown }).status);
}

/** What health answers for each name: Check's status or error, Watch's first message, List. */
export interface HealthAnswers {
  check: Record<string, string>;
  watch: Record<string, string>;
  list: Record<string, string>;
}

/** Asks the health of the server on `socketPath` about `""` (the server) and each of `services`. */
export async function askHealth(socketPath: string, services: string[]): Promise<HealthAnswers> {
  const { client, close } = healthClient(socketPath);
  try {
    const answers: HealthAnswers = { check: {}, watch: {}, list: {} };
    for (const service of ['', ...services]) {
      answers.check[service] = await client
        .Check({ service })
        .then(statusName, (error: unknown) =>
          error instanceof ClientError ? Status[error.code] : String(error),
        );
      for await (const reply of client.Watch({ service })) {
        answers.watch[service] = statusName(reply);
        break;
      }
    }
    const listed = (await client.List({})) as { statuses?: Record<string, object> };
    for (const [service, reply] of Object.entries(listed.statuses ?? {})) {
      answers.list[service] = statusName(reply);
    }
    return answers;
  } finally {
    close();
  }
}
