import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type NetworkRecord, StateStore } from '../src/state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'arca-host-state-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

const net = (id: string, name: string, subnet: string): NetworkRecord => ({
  id,
  name,
  subnet,
  gateway: subnet.replace(/0\/\d+$/, '1'),
  ipRange: '',
  internal: false,
  mtu: 0,
  labels: { team: 'a' },
  options: {},
  created: new Date(0).toISOString(),
});

describe('state store', () => {
  it('persists networks, containers and attachments across reopen', () => {
    const path = tempDb();
    const a = StateStore.open(path);
    a.insertNetwork(net('n1aaaa', 'web', '10.1.0.0/24'));
    a.upsertContainer({ id: 'c1', name: 'one', endpoint: 'unixdir:/x', running: true });
    a.insertAttachment({
      containerId: 'c1',
      networkId: 'n1aaaa',
      device: 'eth0',
      port: 20000,
      ip: '10.1.0.2',
      prefixLength: 24,
      gateway: '10.1.0.1',
      mac: '02:42:00:00:00:01',
      aliases: ['db'],
      status: 'ready',
    });
    a.close();
    const b = StateStore.open(path);
    expect(b.findNetwork('web')?.labels).toEqual({ team: 'a' });
    expect(b.findNetwork('n1a')?.name).toBe('web');
    expect(b.findContainer('/one')?.running).toBe(true);
    const att = b.getAttachment('c1', 'n1aaaa');
    expect(att).toMatchObject({
      device: 'eth0',
      port: 20000,
      aliases: ['db'],
      status: 'ready',
      seq: 1,
    });
    b.close();
  });

  it('a throwing transaction leaves nothing behind', () => {
    const s = StateStore.open(':memory:');
    expect(() =>
      s.transaction(() => {
        s.insertNetwork(net('n1', 'web', '10.1.0.0/24'));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(s.listNetworks()).toEqual([]);
    s.close();
  });

  it('refuses a duplicate name, port, device or IP', () => {
    const s = StateStore.open(':memory:');
    s.insertNetwork(net('n1', 'web', '10.1.0.0/24'));
    expect(() => s.insertNetwork(net('n2', 'web', '10.2.0.0/24'))).toThrow(/UNIQUE/);
    s.upsertContainer({ id: 'c1', name: 'one', endpoint: null, running: false });
    s.upsertContainer({ id: 'c2', name: 'two', endpoint: null, running: false });
    const base = {
      networkId: 'n1',
      prefixLength: 24,
      gateway: '10.1.0.1',
      mac: '02:42:00:00:00:01',
      aliases: [],
      status: 'ready' as const,
    };
    s.insertAttachment({ ...base, containerId: 'c1', device: 'eth0', port: 20000, ip: '10.1.0.2' });
    expect(() =>
      s.insertAttachment({
        ...base,
        containerId: 'c2',
        device: 'eth0',
        port: 20000,
        ip: '10.1.0.3',
      }),
    ).toThrow(/UNIQUE/);
    expect(() =>
      s.insertAttachment({
        ...base,
        containerId: 'c2',
        device: 'eth0',
        port: 20001,
        ip: '10.1.0.2',
      }),
    ).toThrow(/UNIQUE/);
    const updated = s.updateAttachment('c1', 'n1', { status: 'stopped', port: null });
    expect(updated).toMatchObject({ status: 'stopped', port: null });
    s.close();
  });
});

describe('gw_priority', () => {
  it('is stored per attachment, and added to a database of the older schema', async () => {
    const { default: Database } = await import('better-sqlite3');
    const file = tempDb();
    const old = new Database(file);
    old.exec(`CREATE TABLE attachments (
      container_id TEXT NOT NULL, network_id TEXT NOT NULL, device TEXT NOT NULL,
      port INTEGER UNIQUE, ip TEXT NOT NULL, prefix_length INTEGER NOT NULL DEFAULT 0,
      gateway TEXT NOT NULL DEFAULT '', mac TEXT NOT NULL, aliases TEXT NOT NULL DEFAULT '[]',
      status TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (container_id, network_id))`);
    old.close();
    const store = StateStore.open(file);
    store.insertNetwork(net('n1', 'front', '10.1.0.0/24'));
    store.upsertContainer({ id: 'c1', name: 'one', endpoint: null, running: false });
    const a = store.insertAttachment({
      containerId: 'c1',
      networkId: 'n1',
      device: 'eth0',
      port: null,
      ip: '10.1.0.2',
      prefixLength: 24,
      gateway: '10.1.0.1',
      mac: '02:42:0a:01:00:02',
      aliases: [],
      status: 'stopped',
      gwPriority: 7,
    });
    expect(a.gwPriority).toBe(7);
    expect(store.getAttachment('c1', 'n1')?.gwPriority).toBe(7);
    store.close();
  });
});
