/**
 * The numbers of the wire contract that are not in the .proto files: which
 * vsock ports carry what (ARCHITECTURE §1, §3). One copy; every package
 * imports these. The framing of data streams is `@arca-net/vsock`'s codec.
 */

/** vsock port of a container VM's `TAPForwarder` (gRPC). */
export const FORWARDER_CONTROL_PORT = 5555;
/** vsock port of the helper VM's `NetworkControl` (gRPC). */
export const HELPER_CONTROL_PORT = 9999;
/**
 * vsock port of the helper VM's published-port forwarder: the host carries
 * each connection (TCP) or flow (UDP) to a published port over one stream
 * here, after a header line `tcp|udp NETWORK_ID HOST_PORT\n`.
 */
export const PORT_FORWARD_PORT = 9998;
/** First container-side data port of an attachment. */
export const DATA_PORT_MIN = 20000;
/** One past the last container-side data port. */
export const DATA_PORT_LIMIT = 30000;
/** The helper-side data port of an attachment is its container-side port plus this. */
export const HELPER_PORT_OFFSET = 10000;

/** The helper VM's data port for container-side port `port`. */
export function helperDataPort(port: number): number {
  return port + HELPER_PORT_OFFSET;
}

/** Whether `port` is a container-side data port. */
export function isDataPort(port: number): boolean {
  return Number.isInteger(port) && port >= DATA_PORT_MIN && port < DATA_PORT_LIMIT;
}

/**
 * Capability of a forwarder (`GetStatusResponse.capabilities`) or a helper
 * (`GetHealthResponse.capabilities`): it can open an attachment in offload
 * mode (the `offload` fields of AttachNetwork / AttachContainer: a 12-byte
 * virtio_net_hdr_v1 after each length, TAPs with TSO/checksum offloads).
 */
export const CAPABILITY_OFFLOAD = 'offload';
