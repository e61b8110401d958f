import { describe, expect, it } from 'vitest';
import { encodeVnetHeader, VNET_HDR } from '../lib/codec.js';
import { addon } from '../lib/native.js';

/** Ones-complement sum of 16-bit big-endian words (an independent reference). */
function sum(data: Buffer, acc = 0): number {
  for (let i = 0; i + 1 < data.length; i += 2) acc += data.readUInt16BE(i);
  if (data.length % 2 === 1) acc += data[data.length - 1]! << 8;
  return acc;
}
function fold(acc: number): number {
  let x = acc;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}
/** TCP checksum of an IPv4 frame verifies (sums to 0xffff with the pseudo header). */
function tcpOk(frame: Buffer): boolean {
  const ip = frame.subarray(14);
  const ihl = (ip[0]! & 0xf) * 4;
  const tcp = ip.subarray(ihl, ip.readUInt16BE(2));
  const pseudo = sum(ip.subarray(12, 20)) + 6 + tcp.length;
  return fold(sum(tcp, pseudo)) === 0xffff;
}
function ipOk(frame: Buffer): boolean {
  return fold(sum(frame.subarray(14, 34))) === 0xffff;
}

/** Ethernet + IPv4 + TCP (PSH|ACK|FIN) with `payload` bytes; TCP checksum = pseudo-header seed. */
function tcpFrame(payload: number): Buffer {
  const f = Buffer.alloc(14 + 20 + 20 + payload);
  Buffer.from('02000000000102000000000208', 'hex').copy(f, 0); // dst, src, 0x08..
  f[13] = 0x00; // ethertype 0x0800
  const ip = f.subarray(14);
  ip[0] = 0x45;
  ip.writeUInt16BE(40 + payload, 2);
  ip.writeUInt16BE(0x1234, 4);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from([192, 0, 2, 10, 198, 51, 100, 1]).copy(ip, 12);
  const tcp = ip.subarray(20);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(5201, 2);
  tcp.writeUInt32BE(0xfffffff0, 4); // wraps past 2^32 within the segments
  tcp[12] = 5 << 4;
  tcp[13] = 0x19; // FIN|PSH|ACK
  for (let i = 0; i < payload; i++) tcp[20 + i] = i & 0xff;
  tcp.writeUInt16BE(fold(sum(ip.subarray(12, 20)) + 6 + 20 + payload), 16); // the kernel's seed
  return f;
}

describe('offload completion for frames to the router (src/offload.cc)', () => {
  it('splits a TSO4 segment into gso_size segments with valid IP and TCP checksums, seq and flags', () => {
    const hdr = encodeVnetHeader({
      flags: 1,
      gsoType: 1,
      hdrLen: 54,
      gsoSize: 1000,
      csumStart: 34,
      csumOffset: 16,
    });
    const frame = tcpFrame(2500);
    const out = addon.finishOffloads(Buffer.concat([hdr, frame]));
    expect(out.map((u) => u.length - VNET_HDR - 54)).toEqual([1000, 1000, 500]);
    out.forEach((unit, i) => {
      expect(unit.subarray(0, VNET_HDR)).toEqual(Buffer.alloc(VNET_HDR));
      const f = unit.subarray(VNET_HDR);
      expect(ipOk(f) && tcpOk(f)).toBe(true);
      expect(f.readUInt16BE(18)).toBe(0x1234 + i); // IP id
      expect(f.readUInt32BE(38)).toBe((0xfffffff0 + i * 1000) % 2 ** 32);
      expect(f[47]).toBe(i === 2 ? 0x19 : 0x10); // FIN|PSH on the last only
      expect(f.subarray(54)).toEqual(frame.subarray(54 + i * 1000, 54 + i * 1000 + f.length - 54));
    });
  });

  it('completes the checksum of a non-GSO frame and clears NEEDS_CSUM', () => {
    const hdr = encodeVnetHeader({
      flags: 1,
      gsoType: 0,
      hdrLen: 0,
      gsoSize: 0,
      csumStart: 34,
      csumOffset: 16,
    });
    const [unit] = addon.finishOffloads(Buffer.concat([hdr, tcpFrame(777)]));
    expect(unit![0]).toBe(0);
    expect(tcpOk(unit!.subarray(VNET_HDR))).toBe(true);
  });

  it('leaves a frame it cannot split (not TCP) unchanged', () => {
    const hdr = encodeVnetHeader({
      flags: 1,
      gsoType: 1,
      hdrLen: 54,
      gsoSize: 1000,
      csumStart: 34,
      csumOffset: 16,
    });
    const frame = tcpFrame(2500);
    frame[14 + 9] = 17; // UDP in the IP header
    expect(addon.finishOffloads(Buffer.concat([hdr, frame]))).toEqual([]);
  });
});
