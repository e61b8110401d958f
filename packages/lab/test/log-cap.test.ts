import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { capLogs } from '../src/host/log-cap.js';

describe('capLogs', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the last half of a log over the cap in .1 and truncates it in place; smaller logs stay', async () => {
    dir = await mkdtemp(join(tmpdir(), 'arcanet-logcap-'));
    const big = join(dir, 'host.log');
    const small = join(dir, 'c-a.log');
    await writeFile(big, `${'x'.repeat(1500)}${'y'.repeat(500)}`);
    await writeFile(small, 'short\n');
    expect(await capLogs([dir, join(dir, 'missing')], 1000)).toEqual([big]);
    expect((await stat(big)).size).toBe(0);
    expect(await readFile(`${big}.1`, 'utf8')).toBe('y'.repeat(500));
    expect(await readFile(small, 'utf8')).toBe('short\n');
    // A writer that appends goes on at the new end.
    await appendFile(big, 'next line\n');
    expect(await readFile(big, 'utf8')).toBe('next line\n');
  });
});
