import { describe, expect, it } from 'vitest';
import { errors } from '../src/errors.js';
import { checkConnectBounds, checkCreateNetworkBounds, quote } from '../src/limits.js';

describe('input bounds', () => {
  it('a 300 KB label key is INPUT_TOO_LARGE, quoting only a prefix', () => {
    const key = 'k'.repeat(300_000);
    expect(() => checkCreateNetworkBounds({ name: 'n', labels: { [key]: 'v' } })).toThrow(
      expect.objectContaining({
        code: 'INPUT_TOO_LARGE',
        message: `label key ${quote(key)} is longer than 128 characters`,
      }),
    );
    expect(quote(key)).toBe(`"${'k'.repeat(32)}"… (300000 characters)`);
  });

  it.each([
    [
      {
        name: 'n',
        labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
      },
    ],
    [{ name: 'n', options: { o: 'v'.repeat(1025) } }],
    [{ name: 'n', subnet: '1'.repeat(129) }],
  ])('refuses an oversized network field', (options) => {
    expect(() => checkCreateNetworkBounds(options)).toThrow(
      expect.objectContaining({ code: 'INPUT_TOO_LARGE' }),
    );
  });

  it('refuses more than 64 aliases or one over 253 characters; accepts normal ones', () => {
    expect(() =>
      checkConnectBounds({ aliases: Array.from({ length: 65 }, (_, i) => `a${i}`) }),
    ).toThrow(expect.objectContaining({ code: 'INPUT_TOO_LARGE' }));
    expect(() => checkConnectBounds({ aliases: ['a'.repeat(254)] })).toThrow(
      expect.objectContaining({ code: 'INPUT_TOO_LARGE' }),
    );
    expect(() => checkConnectBounds({ ip: '10.0.0.2', aliases: ['web', 'db'] })).not.toThrow();
  });

  it('a request error never carries more than ~300 characters of message', () => {
    const long = 'x'.repeat(100_000);
    expect(errors.networkNotFound(long).message.length).toBeLessThan(340);
    expect(errors.helperFailed(long).message.length).toBeGreaterThan(100_000);
  });
});

describe('a long network name', () => {
  it('is INVALID_NAME with its rule, quoting 32 characters', () => {
    const name = 'n'.repeat(300_000);
    const error = errors.invalidName(
      name,
      'use 1-63 characters of [A-Za-z0-9_.-], starting alphanumeric',
    );
    expect(error.code).toBe('INVALID_NAME');
    expect(error.message).toBe(
      `invalid network name "${'n'.repeat(32)}…": use 1-63 characters of [A-Za-z0-9_.-], starting alphanumeric`,
    );
  });
});
