/**
 * The stream frame codec in TypeScript: 4-byte big-endian length + Ethernet frame. Same
 * semantics as src/codec.cc (tests run one table of cases against both).
 */
export const FRAME_HEADER = 4;
export const DEFAULT_MAX_FRAME = 65536;

/**
 * Offload framing: after the length comes `struct virtio_net_hdr_v1` (12 bytes, little-endian),
 * then the frame; the length covers both. A TAP opened with IFF_VNET_HDR reads and writes
 * exactly these units.
 */
export type Framing = 'plain' | 'offload';
export const VNET_HDR = 12;
/** Largest length in offload framing: a 64 KiB segment (65535) plus the header. */
export const OFFLOAD_MAX_FRAME = 65535 + VNET_HDR;

export const VNET_F_NEEDS_CSUM = 1;
export const VNET_F_DATA_VALID = 2;
export const VNET_F_RSC_INFO = 4;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_UDP = 3;
export const VNET_GSO_TCPV6 = 4;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_ECN = 0x80;

/** The fields of one virtio_net_hdr_v1. */
export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  numBuffers?: number;
}

/** The 12 header bytes of `h`. */
export function encodeVnetHeader(h: VnetHeader): Buffer {
  const out = Buffer.alloc(VNET_HDR);
  out.writeUInt8(h.flags, 0);
  out.writeUInt8(h.gsoType, 1);
  out.writeUInt16LE(h.hdrLen, 2);
  out.writeUInt16LE(h.gsoSize, 4);
  out.writeUInt16LE(h.csumStart, 6);
  out.writeUInt16LE(h.csumOffset, 8);
  out.writeUInt16LE(h.numBuffers ?? 0, 10);
  return out;
}

/**
 * Why the header at `data[offset..offset+12]` in front of a frame of `frameLen` bytes is
 * refused, or '' when it is valid. Same rules and texts as CheckVnetHeader in src/codec.cc.
 */
export function checkVnetHeader(data: Uint8Array, offset: number, frameLen: number): string {
  const flags = data[offset]!;
  const gso = data[offset + 1]! & ~VNET_GSO_ECN;
  const le16 = (at: number): number => data[offset + at]! | (data[offset + at + 1]! << 8);
  if ((flags & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID | VNET_F_RSC_INFO)) !== 0) {
    return 'unknown flags';
  }
  if (
    ![VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_UDP, VNET_GSO_TCPV6, VNET_GSO_UDP_L4].includes(gso)
  ) {
    return 'unknown gso_type';
  }
  if (le16(2) > frameLen) return 'hdr_len beyond the frame';
  if (gso !== VNET_GSO_NONE && le16(4) === 0) return 'gso_size 0 on a GSO frame';
  if ((flags & VNET_F_NEEDS_CSUM) !== 0 && le16(6) + le16(8) + 2 > frameLen) {
    return 'checksum field outside the frame';
  }
  return '';
}

export interface ScanResult {
  /** Bytes from the start that form complete frames (headers included). */
  complete: number;
  frames: number;
  /** Payload bytes of the complete frames. */
  payload: number;
  /** The header after the complete frames has length 0 or above maxFrame. */
  error: boolean;
  badLength: number;
  /** Offload framing: why the virtio-net header was refused ('' when it was not). */
  badHeader: string;
}

/** The smallest valid length in `framing`. */
export function minFrame(framing: Framing): number {
  return framing === 'offload' ? VNET_HDR + 1 : 1;
}

/**
 * Walks complete length-prefixed frames from the start of `data`. In offload framing a length
 * must exceed the header and the header is judged once its 12 bytes are present. Pure.
 */
export function scanFrames(
  data: Uint8Array,
  maxFrame: number = DEFAULT_MAX_FRAME,
  framing: Framing = 'plain',
): ScanResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const min = minFrame(framing);
  let pos = 0;
  let frames = 0;
  let payload = 0;
  while (data.byteLength - pos >= FRAME_HEADER) {
    const len = view.getUint32(pos);
    if (len < min || len > maxFrame) {
      return { complete: pos, frames, payload, error: true, badLength: len, badHeader: '' };
    }
    if (framing === 'offload' && data.byteLength - pos - FRAME_HEADER >= VNET_HDR) {
      const badHeader = checkVnetHeader(data, pos + FRAME_HEADER, len - VNET_HDR);
      if (badHeader !== '') {
        return { complete: pos, frames, payload, error: true, badLength: len, badHeader };
      }
    }
    if (data.byteLength - pos - FRAME_HEADER < len) break;
    pos += FRAME_HEADER + len;
    frames++;
    payload += len;
  }
  return { complete: pos, frames, payload, error: false, badLength: 0, badHeader: '' };
}

/** The close message of a stream that broke the framing (same text as the native relay's). */
export function protocolErrorMessage(
  side: string,
  scan: { badLength: number; badHeader: string },
  maxFrame: number,
  framing: Framing,
): string {
  if (scan.badHeader !== '') return `${side}: invalid virtio-net header (${scan.badHeader})`;
  return `${side}: invalid frame length ${scan.badLength} (allowed ${minFrame(framing)}..${maxFrame})`;
}

/** One frame in wire format (header + payload). */
export function encodeFrame(frame: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + frame.byteLength);
  out.writeUInt32BE(frame.byteLength, 0);
  out.set(frame, FRAME_HEADER);
  return out;
}

/** Splits wire-format bytes (complete frames only) into frame payloads. */
export function splitFrames(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + FRAME_HEADER <= data.byteLength) {
    const len = data.readUInt32BE(pos);
    out.push(data.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len));
    pos += FRAME_HEADER + len;
  }
  return out;
}

/**
 * Incremental decoder: push() bytes as they arrive; it returns the bytes of every frame that
 * became complete (in wire format) and keeps a partial frame for the next push.
 */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);
  constructor(
    readonly maxFrame: number = DEFAULT_MAX_FRAME,
    readonly framing: Framing = 'plain',
  ) {}

  /** Bytes held back (a partial frame). */
  get pendingBytes(): number {
    return this.#pending.byteLength;
  }

  push(chunk: Buffer): {
    complete: Buffer;
    frames: number;
    payload: number;
    error?: number;
    badHeader?: string;
  } {
    const data = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const scan = scanFrames(data, this.maxFrame, this.framing);
    const complete = data.subarray(0, scan.complete);
    this.#pending = data.subarray(scan.complete);
    const result: {
      complete: Buffer;
      frames: number;
      payload: number;
      error?: number;
      badHeader?: string;
    } = { complete, frames: scan.frames, payload: scan.payload };
    if (scan.error) {
      result.error = scan.badLength;
      result.badHeader = scan.badHeader;
    }
    return result;
  }
}
