import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@arca-net/log';
import { health } from '@arca-net/proto';
import { logVerbosity } from '@grpc/grpc-js';
import { log as grpcJsLog } from '@grpc/grpc-js/build/src/logging.js';
import {
  type CallContext,
  type Channel,
  type Client,
  ClientError,
  createChannel,
  createClient,
  ServerError,
  Status,
} from 'nice-grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askHealth, healthClient, reflect, statusName } from '../../../test/grpc-ecosystem.js';
import { type RpcServer, rpcService, startRpcServer } from '../src/server.js';

/** A test service in the ts-proto shape, on health's messages (it is not in the descriptor set). */
const ProbeDefinition = {
  name: 'Probe',
  fullName: 'arca.test.Probe',
  methods: {
    probe: {
      name: 'Probe',
      requestType: health.HealthCheckRequest,
      requestStream: false,
      responseType: health.HealthCheckResponse,
      responseStream: false,
      options: {},
    },
  },
} as const;
const PROBE = ProbeDefinition.fullName;

/** The test package's domain error: its table says NOT_FOUND. */
class ProbeError extends Error {}

/** A promise with its resolve, to hold a call in flight. */
function deferred() {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('startRpcServer on unixdir', () => {
  let dir: string;
  let logs: Record<string, unknown>[];
  let rpc: RpcServer;
  let channel: Channel;
  let probe: Client<typeof ProbeDefinition>;
  let entered: ReturnType<typeof deferred>;
  let release: ReturnType<typeof deferred>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'anrpc-'));
    logs = [];
    entered = deferred();
    release = deferred();
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          logs.push(JSON.parse(line));
        done();
      },
    });
    rpc = await startRpcServer({
      listen: { endpoint: { kind: 'unixdir', dir }, port: 7777 },
      name: 'test',
      services: [
        rpcService(ProbeDefinition, {
          async probe(request: health.HealthCheckRequest, context: CallContext) {
            switch (request.service) {
              case 'domain':
                throw new ProbeError('no such probe');
              case 'server-error':
                throw new ServerError(Status.ALREADY_EXISTS, 'probe taken');
              case 'plain':
                throw new Error('disk on fire');
              case 'string':
                throw 'a bare string';
              case 'slow':
                entered.resolve();
                await release.promise;
                return { status: health.HealthCheckResponse_ServingStatus.SERVING };
              case 'until-cancelled':
                entered.resolve();
                await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
                throw new Error('cancelled');
              default:
                return { status: health.HealthCheckResponse_ServingStatus.SERVING };
            }
          },
        }),
      ],
      errorStatus: (error) => (error instanceof ProbeError ? Status.NOT_FOUND : undefined),
      logger: createLogger({ level: 'debug', destination }),
      shutdownGraceMs: 200,
    });
    channel = createChannel(`unix://${rpc.socketPath}`);
    probe = createClient(ProbeDefinition, channel);
  });

  afterEach(async () => {
    channel.close();
    await rpc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const outcome = (call: Promise<unknown>) =>
    call.then(
      () => 'OK',
      (error: unknown) =>
        error instanceof ClientError ? `${Status[error.code]}: ${error.details}` : String(error),
    );

  it('listens on DIR/PORT.sock and removes it on close', async () => {
    expect(rpc.address).toBe(`unix:${join(dir, '7777.sock')}`);
    expect(rpc.socketPath).toBe(join(dir, '7777.sock'));
    expect(await outcome(probe.probe({ service: 'fine' }))).toBe('OK');
    await rpc.close();
    expect(existsSync(rpc.socketPath)).toBe(false);
  });

  it.each([
    ['domain', 'NOT_FOUND: no such probe'],
    ['server-error', 'ALREADY_EXISTS: probe taken'],
    ['plain', 'INTERNAL: disk on fire'],
    ['string', 'INTERNAL: a bare string'],
  ])('maps a thrown %s to its status, never UNKNOWN', async (service, expected) => {
    expect(await outcome(probe.probe({ service }))).toBe(expected);
  });

  it('refuses a string over the bound with INVALID_ARGUMENT before the handler, quoting only a prefix; the next call works', async () => {
    const result = await outcome(probe.probe({ service: `slow${'x'.repeat(300_000)}` }));
    expect(result).toMatch(
      /^INVALID_ARGUMENT: request too large: request\.service: 300004 characters/,
    );
    expect(result.length).toBeLessThan(200);
    expect(await outcome(probe.probe({ service: 'fine' }))).toBe('OK');
  });

  it('refuses a request over the maximum message size, and the next call works', async () => {
    const result = await outcome(probe.probe({ service: 'y'.repeat(2 * 1024 * 1024) }));
    expect(result).toMatch(/^RESOURCE_EXHAUSTED/);
    expect(await outcome(probe.probe({ service: 'fine' }))).toBe('OK');
  });

  it('logs each call with {method, reqId}: ok at debug, a failure at warn with its status and cause', async () => {
    await probe.probe({ service: 'fine' });
    await outcome(probe.probe({ service: 'domain' }));
    const calls = logs.filter((line) => line.method === '/arca.test.Probe/Probe');
    expect(calls).toMatchObject([
      { component: 'grpc', reqId: 1, level: 20, msg: 'call ok' },
      { component: 'grpc', reqId: 2, level: 40, msg: 'call failed', status: 'NOT_FOUND' },
    ]);
    expect(JSON.stringify(calls[1]?.err)).toContain('no such probe');
  });

  it('health answers Check, Watch and List for "" and the service by name', async () => {
    expect(await askHealth(rpc.socketPath, [PROBE, 'no.such.Service'])).toEqual({
      check: { '': 'SERVING', [PROBE]: 'SERVING', 'no.such.Service': 'NOT_FOUND' },
      watch: { '': 'SERVING', [PROBE]: 'SERVING', 'no.such.Service': 'SERVICE_UNKNOWN' },
      list: { '': 'SERVING', [PROBE]: 'SERVING' },
    });
  });

  it('Watch streams each change of a status, and a service that becomes known', async () => {
    const { client, close } = healthClient(rpc.socketPath);
    try {
      const watched = client.Watch({ service: PROBE })[Symbol.asyncIterator]();
      const later = client.Watch({ service: 'arca.test.Later' })[Symbol.asyncIterator]();
      const next = async (stream: AsyncIterator<object>) => statusName((await stream.next()).value);
      expect(await next(watched)).toBe('SERVING');
      expect(await next(later)).toBe('SERVICE_UNKNOWN');
      rpc.health.set(PROBE, health.HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect(await next(watched)).toBe('NOT_SERVING');
      rpc.health.set(PROBE, health.HealthCheckResponse_ServingStatus.SERVING);
      expect(await next(watched)).toBe('SERVING');
      rpc.health.set('arca.test.Later', health.HealthCheckResponse_ServingStatus.SERVING);
      expect(await next(later)).toBe('SERVING');
      await watched.return?.();
      await later.return?.();
    } finally {
      close();
    }
  });

  it('close says NOT_SERVING to every Watch and ends the streams', async () => {
    const { client, close } = healthClient(rpc.socketPath);
    try {
      const seen: string[] = [];
      const watching = (async () => {
        for await (const reply of client.Watch({ service: '' })) {
          seen.push(statusName(reply));
          if (seen.length === 1) void rpc.close();
        }
      })();
      await watching;
      expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
      await rpc.close();
    } finally {
      close();
    }
  });

  it('close lets a call in flight finish', async () => {
    const call = outcome(probe.probe({ service: 'slow' }));
    await entered.promise;
    const closed = rpc.close();
    release.resolve();
    expect(await call).toBe('OK');
    await closed;
  });

  it('close cancels a call still running after the grace period', async () => {
    const call = outcome(probe.probe({ service: 'until-cancelled' }));
    await entered.promise;
    await rpc.close();
    expect(await call).toMatch(/^CANCELLED/);
  });

  it.each(['v1', 'v1alpha'] as const)(
    'reflection %s lists the service and health, and describes health',
    async (version) => {
      expect(await reflect(rpc.socketPath, version)).toEqual({
        services: [PROBE, 'grpc.health.v1.Health'],
        // The test service is not in @arca-net/proto's descriptor set; health is.
        described: { [PROBE]: false, 'grpc.health.v1.Health': true },
      });
    },
  );

  it("routes grpc-js's own log lines to pino at the logger's level", () => {
    grpcJsLog(logVerbosity.ERROR, 'an error from grpc-js');
    grpcJsLog(logVerbosity.DEBUG, 'a debug line from grpc-js');
    expect(logs.filter((line) => line.component === 'grpc-js')).toMatchObject([
      { level: 50, msg: 'an error from grpc-js' },
      { level: 20, msg: 'a debug line from grpc-js' },
    ]);
  });
});
