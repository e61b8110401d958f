import { encodeVnetHeader, type VnetHeader } from '../lib/codec.js';

/**
 * One table of framing cases, run against the native codec (src/codec.cc) and the TS codec
 * (lib/codec.ts): hex input → expected scan result.
 */
export interface CodecCase {
  name: string;
  hex: string;
  maxFrame: number;
  complete: number;
  frames: number;
  payload: number;
  error: boolean;
  badLength: number;
  /** 'offload' cases carry a virtio-net header after each length. */
  framing?: 'plain' | 'offload';
  badHeader?: string;
}

const ok = (
  name: string,
  hex: string,
  complete: number,
  frames: number,
  payload: number,
  maxFrame = 65536,
): CodecCase => ({ name, hex, maxFrame, complete, frames, payload, error: false, badLength: 0 });
const bad = (
  name: string,
  hex: string,
  complete: number,
  frames: number,
  payload: number,
  badLength: number,
  maxFrame = 65536,
): CodecCase => ({ name, hex, maxFrame, complete, frames, payload, error: true, badLength });

export const codecCases: CodecCase[] = [
  ok('empty input', '', 0, 0, 0),
  ok('one byte of a header', '00', 0, 0, 0),
  ok('three bytes of a header', '000000', 0, 0, 0),
  ok('header without payload', '00000003', 0, 0, 0),
  ok('partial payload', '00000003aabb', 0, 0, 0),
  ok('one complete frame', '00000003aabbcc', 7, 1, 3),
  ok('one frame and a partial header', '00000001ff0000', 5, 1, 1),
  ok('two frames', '00000001ff00000002eeee', 11, 2, 3),
  ok('two frames and a partial third', '00000001ff00000002eeee00000005aa', 11, 2, 3),
  bad('length zero', '00000000', 0, 0, 0, 0),
  bad('length zero after a frame', '00000001ff00000000', 5, 1, 1, 0),
  bad('length above max', '00010001', 0, 0, 0, 65537),
  bad('length 0xffffffff', 'ffffffff', 0, 0, 0, 0xffffffff),
  ok('length exactly max (header only yet)', '00010000', 0, 0, 0),
  bad('small max frame', '00000005aabbccddee', 0, 0, 0, 5, 4),
  ok('frame at small max', '00000004aabbccdd', 8, 1, 4, 4),
  bad('bad header judged before its payload', '00000001ff000fffff', 5, 1, 1, 0xfffff),
];

const NONE: VnetHeader = {
  flags: 0,
  gsoType: 0,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
};
/** Length (header + frame) + header + `frameLen` bytes of frame, as hex. */
function vnet(h: Partial<VnetHeader>, frameLen: number, lengthField = frameLen + 12): string {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(lengthField);
  return Buffer.concat([
    len,
    encodeVnetHeader({ ...NONE, ...h }),
    Buffer.alloc(frameLen, 0xab),
  ]).toString('hex');
}
const MAX = 65535 + 12;
const okV = (name: string, hex: string, complete: number, frames: number, payload: number) => ({
  ...ok(name, hex, complete, frames, payload, MAX),
  framing: 'offload' as const,
  badHeader: '',
});
const badV = (
  name: string,
  hex: string,
  complete: number,
  frames: number,
  payload: number,
  badLength: number,
  badHeader: string,
) => ({
  ...bad(name, hex, complete, frames, payload, badLength, MAX),
  framing: 'offload' as const,
  badHeader,
});
const tso = { flags: 1, gsoType: 1, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
const one = vnet(NONE, 60);

/** Offload framing: header validation. */
export const offloadCases: CodecCase[] = [
  okV('offload: plain frame with a zero header', one, 76, 1, 72),
  okV('offload: TSO4 segment with checksum request', vnet(tso, 3000), 3016, 1, 3012),
  okV(
    'offload: TSO6 with the ECN bit',
    vnet({ ...tso, gsoType: 0x84, csumStart: 54 }, 3000),
    3016,
    1,
    3012,
  ),
  okV(
    'offload: UDP_L4 segment',
    vnet({ flags: 1, gsoType: 5, hdrLen: 42, gsoSize: 1000, csumStart: 34, csumOffset: 6 }, 2000),
    2016,
    1,
    2012,
  ),
  okV(
    'offload: checksum field ending at the last byte',
    vnet({ flags: 1, csumStart: 50, csumOffset: 8 }, 60),
    76,
    1,
    72,
  ),
  okV('offload: header still partial', vnet(NONE, 60).slice(0, 2 * 10), 0, 0, 0),
  okV('offload: largest segment (header only yet)', vnet(NONE, 0, MAX), 0, 0, 0),
  badV('offload: length no longer than the header', vnet(NONE, 0), 0, 0, 0, 12, ''),
  badV('offload: length above max', vnet(NONE, 0, MAX + 1), 0, 0, 0, MAX + 1, ''),
  badV(
    'offload: unknown gso_type',
    vnet({ ...tso, gsoType: 2 }, 3000),
    0,
    0,
    0,
    3012,
    'unknown gso_type',
  ),
  badV('offload: unknown flags', vnet({ flags: 8 }, 60), 0, 0, 0, 72, 'unknown flags'),
  badV(
    'offload: hdr_len beyond the frame',
    vnet({ ...tso, hdrLen: 3001 }, 3000),
    0,
    0,
    0,
    3012,
    'hdr_len beyond the frame',
  ),
  badV(
    'offload: GSO with gso_size 0',
    vnet({ ...tso, gsoSize: 0 }, 3000),
    0,
    0,
    0,
    3012,
    'gso_size 0 on a GSO frame',
  ),
  badV(
    'offload: checksum field past the end',
    vnet({ flags: 1, csumStart: 50, csumOffset: 9 }, 60),
    0,
    0,
    0,
    72,
    'checksum field outside the frame',
  ),
  badV(
    'offload: bad header after a good frame',
    one + vnet({ gsoType: 9 }, 60),
    76,
    1,
    72,
    72,
    'unknown gso_type',
  ),
  badV(
    'offload: bad header judged before its frame arrives',
    one + vnet({ flags: 0x10 }, 60).slice(0, 32),
    76,
    1,
    72,
    72,
    'unknown flags',
  ),
];
