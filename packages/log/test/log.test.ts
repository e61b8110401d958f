import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
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
