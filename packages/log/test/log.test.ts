import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/index.js';

describe('createLogger', () => {
  it('writes JSON lines with bound fields from child loggers', async () => {
    const sink = new PassThrough();
    const lines: string[] = [];
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const log = createLogger({ destination: sink, level: 'debug', base: { service: 'test' } });
    log.child({ component: 'relay', port: 20001 }).debug('relay opened');
    await new Promise((resolve) => setImmediate(resolve));
    const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(record).toMatchObject({
      service: 'test',
      component: 'relay',
      port: 20001,
      msg: 'relay opened',
      level: 20,
    });
  });

  it('drops lines below the configured level', async () => {
    const sink = new PassThrough();
    const lines: string[] = [];
    sink.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const log = createLogger({ destination: sink, level: 'warn' });
    log.info('not shown');
    log.warn('shown');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.join('')).not.toContain('not shown');
    expect(lines.join('')).toContain('shown');
  });
});

describe('rate limit of repeated lines', () => {
  it('keeps at most N lines of one message per window, then says how many it dropped', async () => {
    const sink = new PassThrough();
    const lines: string[] = [];
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    const log = createLogger({ destination: sink, ratePerMessage: 3, rateWindowMs: 50 });
    const child = log.child({ component: 'relay' });
    for (let i = 0; i < 100; i++) child.info({ i }, 'relay closed, re-dialling');
    child.info('another message');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60);
    child.info({ i: 100 }, 'relay closed, re-dialling');
    vi.useRealTimers();
    await new Promise((resolve) => setImmediate(resolve));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const repeated = records.filter((r) => r.msg === 'relay closed, re-dialling');
    expect(repeated.map((r) => r.i)).toEqual([0, 1, 2, 100]);
    expect(repeated[3]).toMatchObject({ suppressed: 97, component: 'relay' });
    expect(records.some((r) => r.msg === 'another message')).toBe(true);
  });
});
