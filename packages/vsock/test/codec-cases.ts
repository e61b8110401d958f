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
