import { describe, expect, it } from 'vitest';
import { PortAllocator } from '../src/ports.js';

describe('port allocator', () => {
  it('hands out distinct ports from 20000 up', () => {
    const ports = new PortAllocator();
    const a = ports.allocate();
    const b = ports.allocate();
    expect(a).toBe(20000);
    expect(b).toBe(20001);
  });

  it('does not hand a just-released port out again at once, but reuses it after wrapping', () => {
    const ports = new PortAllocator([], { min: 100, limit: 103 });
    const a = ports.allocate();
    ports.release(a);
    expect(ports.allocate()).toBe(101);
    expect(ports.allocate()).toBe(102);
    expect(ports.allocate()).toBe(100);
    expect(() => ports.allocate()).toThrow(/no free data port/);
  });

  it('is re-derived from persisted ports and never doubles one', () => {
    const ports = new PortAllocator([20000, 20002]);
    expect(ports.allocate()).toBe(20001);
    expect(ports.allocate()).toBe(20003);
    expect(() => ports.reserve(20000)).toThrow(/already in use/);
    expect(() => ports.reserve(30000)).toThrow(/outside/);
    expect(ports.used()).toEqual([20000, 20001, 20002, 20003]);
  });

  it('release is idempotent', () => {
    const ports = new PortAllocator();
    const p = ports.allocate();
    ports.release(p);
    ports.release(p);
    expect(ports.isUsed(p)).toBe(false);
  });
});
