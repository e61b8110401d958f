import { describe, expect, it } from 'vitest';
import { ListenAddressError, parseListenAddress } from '../src/listen.js';

describe('parseListenAddress', () => {
  it('reads vsock as the default port on any local CID', () => {
    expect(parseListenAddress('vsock', 5555)).toEqual({ endpoint: { kind: 'vsock' }, port: 5555 });
  });

  it('reads vsock:PORT as that port', () => {
    expect(parseListenAddress('vsock:9999', 5555)).toEqual({
      endpoint: { kind: 'vsock' },
      port: 9999,
    });
    expect(parseListenAddress('vsock:4294967294', 1).port).toBe(4294967294);
  });

  it('reads unixdir:/DIR as the default port in that directory', () => {
    expect(parseListenAddress('unixdir:/run/vm', 9999)).toEqual({
      endpoint: { kind: 'unixdir', dir: '/run/vm' },
      port: 9999,
    });
  });

  it.each([
    ['vsock:0', /port out of range/],
    ['vsock:4294967295', /port out of range/],
    ['vsock:', /expected vsock, vsock:PORT or unixdir:\/DIR/],
    ['vsock:12ab', /expected/],
    ['unixdir:', /expected/],
    ['unixdir:relative/dir', /expected/],
    ['unixdir:/a\0b', /expected/],
    ['tcp:5555', /expected/],
    ['', /expected/],
  ])('rejects %j with a ListenAddressError', (text, message) => {
    expect(() => parseListenAddress(text, 5555)).toThrow(ListenAddressError);
    expect(() => parseListenAddress(text, 5555)).toThrow(message);
  });
});
