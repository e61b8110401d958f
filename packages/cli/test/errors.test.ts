/**
 * The CLI's error line and exit code for real errors: `arca-net` runs
 * against a real lab API server and the real lab host service, whose network
 * backend (a fake, standing in for OvsNetworkBackend, which needs a helper
 * VM) throws the host's own `NetworkBackendError`s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ErrorCode, errorTable, NetworkBackendError } from '@arca-net/host';
import {
  LabContainers,
  LabHostService,
  type LabNetworkBackend,
  LabPaths,
  serveLabApi,
} from '@arca-net/lab';
import { silentLogger } from '@arca-net/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { capturedIo } from './captured-io.js';

const unused = (): Promise<never> => Promise.reject(new Error('not used by these tests'));

/** Inspecting network CODE throws the host's error CODE; listing networks fails with a plain Error. */
const backend: LabNetworkBackend = {
  inspectNetwork: async (ref) => {
    throw new NetworkBackendError(ref as ErrorCode, `the host says ${ref}`);
  },
  listNetworks: async () => {
    throw new Error('sqlite: disk I/O error');
  },
  createNetwork: unused,
  removeNetwork: unused,
  registerContainer: unused,
  unregisterContainer: unused,
  connect: unused,
  disconnect: unused,
  listAttachments: unused,
  containerStopped: unused,
  containerStarted: unused,
  publish: unused,
  ports: unused,
};

/** docs/cli.md: 3 when the lab (or a part of it) is unavailable, 1 when the request failed. */
const documentedExitCode = (kind: string): number => (kind === 'unavailable' ? 3 : 1);

describe('arca-net against a lab host whose backend fails', () => {
  let dir: string;
  let server: Server;
  const cli = async (...args: string[]) => {
    const io = capturedIo();
    const code = await runCli(args, io, { ARCA_NET_LAB_DIR: dir });
    return { code, stdout: io.stdout, stderr: io.stderr };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arcanet-cli-errors-'));
    const paths = new LabPaths({ dir, prefix: 'acerr' });
    const service = new LabHostService({
      containers: new LabContainers(paths, silentLogger),
      network: backend,
      helperHealth: async () => [],
      logger: silentLogger,
      onShutdown: () => undefined,
    });
    server = await serveLabApi(service, paths.hostSocket, { logger: silentLogger });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  for (const [code, kind] of Object.entries(errorTable)) {
    it(`${code} (${kind}): the host's message as Docker's daemon line, exit ${documentedExitCode(kind)}`, async () => {
      const result = await cli('network', 'inspect', code);
      // `docker port` words NO_PUBLIC_PORT itself (the CLI's `Error: `), not the daemon.
      const prefix = code === 'NO_PUBLIC_PORT' ? 'Error' : 'Error response from daemon';
      expect(result.stderr).toBe(`${prefix}: the host says ${code}\n`);
      expect(result.stdout).toBe('');
      expect(result.code).toBe(documentedExitCode(kind));
    });
  }

  it("an unknown lab container is the host's CONTAINER_NOT_FOUND: exit 1", async () => {
    const result = await cli('network', 'connect', 'front', 'nobody');
    expect(result.stderr).toBe('Error response from daemon: No such container: nobody\n');
    expect(result.code).toBe(1);
  });

  it('a failure that is no host error reaches the terminal as LAB_FAILED with its message: exit 1', async () => {
    const result = await cli('network', 'ls');
    expect(result.stderr).toBe('Error response from daemon: sqlite: disk I/O error\n');
    expect(result.code).toBe(1);
  });

  it('a lab command without a running lab host fails here, in one line: exit 3', async () => {
    const result = await cli('lab', 'ps');
    expect(result.stderr).toBe(
      `arca-net: no lab is running in ${dir}: start it with 'arca-net lab up'\n`,
    );
    expect(result.code).toBe(3);
  });
});
