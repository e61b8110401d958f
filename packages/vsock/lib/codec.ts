/**
 * The stream frame codec in TypeScript: 4-byte big-endian length + Ethernet frame. Same
 * semantics as src/codec.cc (tests run one table of cases against both).
 */
export const FRAME_HEADER = 4;
export const DEFAULT_MAX_FRAME = 65536;

export interface ScanResult {
  /** Bytes from the start that form complete frames (headers included). */
  complete: number;
  frames: number;
  /** Payload bytes of the complete frames. */
  payload: number;
  /** The header after the complete frames has length 0 or above maxFrame. */
  error: boolean;
  badLength: number;
}

/** Walks complete length-prefixed frames from the start of `data`. Pure. */
export function scanFrames(data: Uint8Array, maxFrame: number = DEFAULT_MAX_FRAME): ScanResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let frames = 0;
  let payload = 0;
  while (data.byteLength - pos >= FRAME_HEADER) {
    const len = view.getUint32(pos);
    if (len === 0 || len > maxFrame) {
      return { complete: pos, frames, payload, error: true, badLength: len };
    }
    if (data.byteLength - pos - FRAME_HEADER < len) break;
    pos += FRAME_HEADER + len;
    frames++;
    payload += len;
  }
  return { complete: pos, frames, payload, error: false, badLength: 0 };
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
  constructor(readonly maxFrame: number = DEFAULT_MAX_FRAME) {}

  /** Bytes held back (a partial frame). */
  get pendingBytes(): number {
    return this.#pending.byteLength;
  }

  push(chunk: Buffer): { complete: Buffer; frames: number; payload: number; error?: number } {
    const data = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const scan = scanFrames(data, this.maxFrame);
    const complete = data.subarray(0, scan.complete);
    this.#pending = data.subarray(scan.complete);
    const result: { complete: Buffer; frames: number; payload: number; error?: number } = {
      complete,
      frames: scan.frames,
      payload: scan.payload,
    };
    if (scan.error) result.error = scan.badLength;
    return result;
  }
}
