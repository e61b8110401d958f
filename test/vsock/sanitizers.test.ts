import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The native core under sanitizers (clang): the relay engine's C++ tests built with
 * AddressSanitizer + UBSan, and a bounded libFuzzer run over the stream decoder.
 */
const run = promisify(execFile);
const dir = new URL('../../packages/vsock/fuzz', import.meta.url).pathname;

describe('vsock native core under sanitizers', () => {
  it('relay engine tests pass under ASan + UBSan', async () => {
    const { stdout } = await run('make', ['-s', '-C', dir, 'asan-test'], {
      timeout: 170_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('ok all');
  }, 180_000);

  it('the decoder fuzzer runs 15 s without a crash or sanitizer report', async () => {
    // execFile rejects on a non-zero exit (libFuzzer exits non-zero on any finding).
    const { stderr } = await run('make', ['-s', '-C', dir, 'fuzz', 'FUZZ_SECONDS=15'], {
      timeout: 170_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stderr).toMatch(/Done \d+ runs/);
  }, 180_000);
});
