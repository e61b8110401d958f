/**
 * The lab host's network backend: the adapter from the embeddable
 * `OvsNetworkBackend` (@arca-net/host) to what the lab's API needs.
 */
import type { Logger } from '@arca-net/log';
import type { LabPaths } from '../lab/paths.js';
import { ApiError } from './api.js';
import type { NetworkBackendPort } from './service.js';

const notYet = (): Promise<never> =>
  Promise.reject(new ApiError('unavailable', '@arca-net/host has no OvsNetworkBackend yet'));

/** Creates the backend of the lab in `paths` (controller at `unixdir:<lab>/vms/helper`, state in `<lab>/host.db`). */
export async function createNetworkBackend(
  paths: LabPaths,
  logger: Logger,
): Promise<NetworkBackendPort> {
  logger.warn({ controller: paths.helperVmDir }, 'OvsNetworkBackend is not available yet');
  return {
    health: async () => [
      {
        name: 'network backend',
        healthy: false,
        detail: '@arca-net/host has no OvsNetworkBackend yet',
      },
    ],
    createNetwork: notYet,
    listNetworks: notYet,
    inspectNetwork: notYet,
    removeNetwork: notYet,
    addContainer: notYet,
    removeContainer: notYet,
    connect: notYet,
    disconnect: notYet,
    containerNetworks: notYet,
    containerStats: notYet,
    close: async () => undefined,
  };
}
