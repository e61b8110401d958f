/**
 * The part of `@arca-net/vsock` the controller uses, as one object, so the
 * data path can be given another implementation in tests.
 */
import { listenStream, parseListenEndpoint, Relay, TapDevice } from '@arca-net/vsock';

export type { ListenEndpoint } from '@arca-net/vsock';

/** The functions and classes of `@arca-net/vsock` used here. */
export interface VsockApi {
  parseListenEndpoint: typeof parseListenEndpoint;
  listenStream: typeof listenStream;
  TapDevice: Pick<typeof TapDevice, 'create'>;
  Relay: Pick<typeof Relay, 'open'>;
}

/** The real thing. */
export const vsockApi: VsockApi = {
  parseListenEndpoint,
  listenStream,
  TapDevice,
  Relay,
};
