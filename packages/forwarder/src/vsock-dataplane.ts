/**
 * The real data plane: `@arca-net/vsock`'s TAP devices, stream listeners and
 * native relays.
 */
import { listenStream, Relay, TapDevice } from '@arca-net/vsock';
import type { DataPlane } from './dataplane.js';

export const vsockDataPlane: DataPlane = {
  createTap: (name, options) =>
    TapDevice.create(name, { mac: options.mac, mtu: options.mtu, up: true }),
  listen: (where, port) => listenStream(where, port),
  openRelay: (tapFd, streamFd) =>
    Relay.open({ kind: 'tap', fd: tapFd }, { kind: 'stream', fd: streamFd }),
};
