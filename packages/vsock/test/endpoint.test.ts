import { describe, expect, it } from 'vitest';
import {
  formatVmEndpoint,
  parseListenEndpoint,
  parseVmEndpoint,
  unixdirPath,
  VsockError,
} from '../lib/index.js';

describe('parseVmEndpoint', () => {
  it.each([
    ['vsock:3', { kind: 'vsock', cid: 3 }],
    ['vsock:4294967295', { kind: 'vsock', cid: 4294967295 }],
    ['hvsock:/run/fc/v.sock', { kind: 'hvsock', path: '/run/fc/v.sock' }],
    ['unixdir:/tmp/lab/vm1', { kind: 'unixdir', dir: '/tmp/lab/vm1' }],
  ])('parses %s and formats it back', (text, expected) => {
    const endpoint = parseVmEndpoint(text);
    expect(endpoint).toEqual(expected);
    expect(formatVmEndpoint(endpoint)).toBe(text);
  });

  it.each([
    '',
    'vsock',
    'vsock:',
    'vsock:-1',
    'vsock:3.5',
    'vsock:abc',
    'vsock:4294967296',
    'hvsock:',
    'hvsock:relative/v.sock',
    'unixdir:',
    'unixdir:dir',
    'tcp:127.0.0.1:1',
  ])('rejects %j with VsockError EINVAL', (text) => {
    try {
      parseVmEndpoint(text);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VsockError);
      expect((err as VsockError).code).toBe('EINVAL');
      expect((err as VsockError).message).toContain(`'${text}'`);
    }
  });
});

describe('parseListenEndpoint', () => {
  it.each([
    ['vsock', { kind: 'vsock' }],
    ['vsock:any', { kind: 'vsock' }],
    ['vsock:2', { kind: 'vsock', cid: 2 }],
    ['unixdir:/tmp/x', { kind: 'unixdir', dir: '/tmp/x' }],
  ])('parses %s', (text, expected) => {
    expect(parseListenEndpoint(text)).toEqual(expected);
  });

  it.each(['', 'hvsock:/x', 'vsock:x', 'unixdir:rel'])('rejects %j', (text) => {
    expect(() => parseListenEndpoint(text)).toThrow(VsockError);
  });
});

describe('unixdirPath', () => {
  it('maps port P to <dir>/P.sock', () => {
    expect(unixdirPath('/tmp/vm', 20001)).toBe('/tmp/vm/20001.sock');
  });
  it.each([-1, 1.5, 4294967295, Number.NaN])('rejects port %d', (port) => {
    expect(() => unixdirPath('/tmp/vm', port)).toThrow(VsockError);
  });
});
