import { describe, expect, it } from 'vitest';
import { FakeTapLinkPrimitives } from '../lib/fake-tap-link.js';
import { TapLink, TapLinkError } from '../lib/index.js';

const unixdir = { kind: 'unixdir', dir: '/nonexistent' } as const;

function open(primitives: FakeTapLinkPrimitives, name = 'tap0', port = 20001): Promise<TapLink> {
  return TapLink.open({ name, mac: '02:00:00:00:aa:01', listen: unixdir, port, primitives });
}

describe('TapLink (fake TAP, listener and relays)', () => {
  it('creates the TAP up with the MAC and MTU asked for, then listens on its port', async () => {
    const fake = new FakeTapLinkPrimitives();
    const link = await TapLink.open({
      name: 'tap0',
      mac: '02:00:00:00:aa:01',
      mtu: 1400,
      listen: unixdir,
      port: 20001,
      primitives: fake,
    });
    expect(fake.taps.get('tap0')?.options).toEqual({
      mac: '02:00:00:00:aa:01',
      mtu: 1400,
      up: true,
      offload: false,
    });
    expect(fake.listeners.get(20001)?.where).toEqual(unixdir);
    expect(link).toMatchObject({ name: 'tap0', mac: '02:00:00:00:aa:01', port: 20001 });
    expect(link.connected).toBe(false);
    await link.close();
  });

  it('a listen failure closes the TAP and names the step', async () => {
    const fake = new FakeTapLinkPrimitives();
    fake.failListen = true;
    const failure = await open(fake).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TapLinkError);
    expect(failure).toMatchObject({ step: 'listen', message: /data port 20001.*EADDRINUSE/ });
    expect(fake.taps.get('tap0')?.closed).toBe(true);
    expect(fake.nameFree('tap0')).toBe(true);
  });

  it('a TAP that cannot be created names the step and binds nothing', async () => {
    const fake = new FakeTapLinkPrimitives();
    const first = await open(fake);
    const failure = await open(fake, 'tap0', 20002).catch((err: unknown) => err);
    expect(failure).toMatchObject({ step: 'create-tap', message: /TAP tap0.*EBUSY/ });
    expect(fake.listeners.has(20002)).toBe(false);
    await first.close();
  });

  it('relays each host connection; a reconnect replaces the relay and keeps the totals', async () => {
    const fake = new FakeTapLinkPrimitives();
    const link = await open(fake);
    const connections: number[] = [];
    link.on('connection', (n) => connections.push(n));
    fake.connect(20001);
    const first = fake.relays[0]!;
    first.counters = {
      aToB: { frames: 3, bytes: 300, drops: 1, protocolErrors: 0 },
      bToA: { frames: 2, bytes: 200, drops: 0, protocolErrors: 1 },
    };
    expect(link.connected).toBe(true);
    fake.connect(20001);
    expect(first.closed).toBe(true);
    const second = fake.relays[1]!;
    second.counters.aToB = { frames: 1, bytes: 100, drops: 0, protocolErrors: 0 };
    await first.whenClosed();
    expect(link.stats()).toEqual({
      toStream: { frames: 4, bytes: 400, drops: 1, protocolErrors: 0 },
      toTap: { frames: 2, bytes: 200, drops: 0, protocolErrors: 1 },
    });
    expect(link.connections).toBe(2);
    expect(connections).toEqual([1, 2]);
    expect(link.connected).toBe(true);
    second.end({ reason: 'eof', side: 'b' }); // the host went away
    await second.whenClosed();
    expect(link.connected).toBe(false);
    expect(link.stats().toStream.frames).toBe(4);
    await link.close();
  });

  it('close releases the TAP before it resolves, so the same name can be created again at once', async () => {
    const fake = new FakeTapLinkPrimitives();
    const link = await open(fake);
    fake.connect(20001);
    fake.connect(20001); // the replaced relay is still releasing its dup while close runs
    await link.close();
    expect(fake.relays.every((relay) => relay.closed)).toBe(true);
    expect(fake.listeners.get(20001)?.closed).toBe(true);
    expect(fake.nameFree('tap0')).toBe(true);
    const again = await open(fake);
    expect(fake.taps.get('tap0')?.closed).toBe(false);
    await again.close();
  });

  it('refuses a connection that arrives after close, and close is idempotent', async () => {
    const fake = new FakeTapLinkPrimitives();
    const link = await open(fake);
    const closing = link.close();
    expect(link.close()).toBe(closing);
    const late = fake.connect(20001);
    await closing;
    expect(late.closed).toBe(true);
    expect(fake.relays).toHaveLength(0);
    expect(link.connections).toBe(0);
  });

  it('a relay that cannot start closes the socket and leaves the link listening', async () => {
    const fake = new FakeTapLinkPrimitives();
    const link = await open(fake);
    fake.taps.get('tap0')!.close(); // dupFd now fails
    const socket = fake.connect(20001);
    expect(socket.closed).toBe(true);
    expect(link.connections).toBe(0);
    expect(fake.listeners.get(20001)?.closed).toBe(false);
    await link.close();
  });
});
