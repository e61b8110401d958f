import { network } from '@arca-net/proto';
import { describe, expect, it } from 'vitest';
import { newNetworkRecord, OVERLAY_DEFAULT_MTU, renderNetworkInspect } from '../src/docker.js';
import type { HelperClient } from '../src/helper-client.js';
import {
  isPlaceholderIp,
  needsPlainFraming,
  OverlayDns,
  overlayPlaceholderIp,
  syncOverlayNetworks,
} from '../src/overlay.js';
import { StateStore } from '../src/state.js';

/** A helper whose ListBridges answers `bridges`. */
function helperWith(bridges: network.BridgeInfo[]): HelperClient {
  return { listBridges: async () => bridges } as unknown as HelperClient;
}

const overlayBridge = (networkId: string, name: string) =>
  network.BridgeInfo.fromPartial({
    networkId,
    name,
    subnet: '10.77.0.0/24',
    gateway: '10.77.0.1',
    mtu: 1400,
    driver: 'overlay',
  });

describe('overlay networks in the host library', () => {
  it('creates them with driver overlay and MTU 1400 unless set; inspect says swarm', () => {
    const n = newNetworkRecord({ name: 'ov', driver: 'overlay' }, []);
    expect(n).toMatchObject({ driver: 'overlay', mtu: OVERLAY_DEFAULT_MTU });
    expect(newNetworkRecord({ name: 'ov', driver: 'overlay', mtu: 1300 }, []).mtu).toBe(1300);
    const inspect = renderNetworkInspect(n, []);
    expect(inspect).toMatchObject({ Driver: 'overlay', Scope: 'swarm', Attachable: true });
    expect(inspect.Options['com.docker.network.driver.mtu']).toBe('1400');
    const bridge = renderNetworkInspect(newNetworkRecord({ name: 'b' }, []), []);
    expect(bridge).toMatchObject({ Driver: 'bridge', Scope: 'local', Attachable: false });
  });

  it('keeps the driver in the state database', () => {
    const state = StateStore.open(':memory:');
    state.insertNetwork(newNetworkRecord({ name: 'ov', driver: 'overlay' }, []));
    state.insertNetwork(newNetworkRecord({ name: 'b' }, []));
    expect(state.findNetwork('ov')?.driver).toBe('overlay');
    expect(state.findNetwork('b')?.driver).toBeUndefined();
    state.close();
  });

  it('adopts the overlay networks other hosts made, and forgets gone ones without attachments', async () => {
    const state = StateStore.open(':memory:');
    state.insertNetwork(newNetworkRecord({ name: 'local' }, []));
    state.insertNetwork({ ...newNetworkRecord({ name: 'gone', driver: 'overlay' }, []) });
    await syncOverlayNetworks(
      state,
      helperWith([
        overlayBridge('a'.repeat(64), 'ov'),
        network.BridgeInfo.fromPartial({ networkId: 'b'.repeat(64), name: 'x', driver: 'bridge' }),
      ]),
    );
    expect(
      state
        .listNetworks()
        .map((n) => n.name)
        .sort(),
    ).toEqual(['local', 'ov']);
    expect(state.findNetwork('ov')).toMatchObject({ id: 'a'.repeat(64), driver: 'overlay' });
    state.close();
  });

  it('never shadows a network of this host with an overlay one of the same name', async () => {
    const state = StateStore.open(':memory:');
    const mine = newNetworkRecord({ name: 'ov' }, []);
    state.insertNetwork(mine);
    await syncOverlayNetworks(state, helperWith([overlayBridge('c'.repeat(64), 'ov')]));
    expect(state.listNetworks().map((n) => n.id)).toEqual([mine.id]);
    state.close();
  });

  it('holds a placeholder address until the central gives one, and asks for plain framing', () => {
    const ip = overlayPlaceholderIp('f'.repeat(64));
    expect(isPlaceholderIp(ip)).toBe(true);
    expect(isPlaceholderIp('10.0.0.2')).toBe(false);
    expect(needsPlainFraming({ driver: 'overlay' })).toBe(true);
    expect(needsPlainFraming({})).toBe(false);
  });
});

describe('OverlayDns', () => {
  const withRecords = (records: Record<string, string>) => [
    network.BridgeInfo.fromPartial({ ...overlayBridge('a'.repeat(64), 'ov'), dnsRecords: records }),
  ];

  it('groups every host’s names by address and says which networks changed', () => {
    const dns = new OverlayDns();
    const changed = dns.update(
      withRecords({
        b1: '10.77.0.3',
        '0123456789ab': '10.77.0.3',
        web: '10.77.0.3',
        a1: '10.77.0.2',
      }),
    );
    expect([...changed]).toEqual(['a'.repeat(64)]);
    const byIp = dns.peers('a'.repeat(64)).sort((x, y) => x.ipAddress.localeCompare(y.ipAddress));
    expect(byIp).toEqual([
      { name: 'a1', id: '', ipAddress: '10.77.0.2', aliases: [] },
      { name: 'b1', id: '', ipAddress: '10.77.0.3', aliases: ['0123456789ab', 'web'] },
    ]);
    expect(
      dns.update(
        withRecords({
          a1: '10.77.0.2',
          b1: '10.77.0.3',
          '0123456789ab': '10.77.0.3',
          web: '10.77.0.3',
        }),
      ).size,
    ).toBe(0);
    expect([...dns.update([])]).toEqual(['a'.repeat(64)]);
    expect(dns.peers('a'.repeat(64))).toEqual([]);
  });

  it('leaves out what is not a DNS name or an IPv4 address', () => {
    const dns = new OverlayDns();
    dns.update(withRecords({ 'bad name': '10.77.0.4', ok: 'nonsense' }));
    expect(dns.peers('a'.repeat(64))).toEqual([]);
  });
});
