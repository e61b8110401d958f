import { describe, expect, it } from 'vitest';
import { checkBounds } from '../src/bounds.js';

const bounds = { maxString: 8, maxItems: 3, maxDepth: 4 };

describe('checkBounds', () => {
  it('passes a request within every bound', () => {
    expect(
      checkBounds({ a: 'short', rules: [{ p: 1 }, { p: 2 }], labels: { k: 'v' } }, bounds),
    ).toBe(undefined);
  });

  it.each([
    [{ name: 'x'.repeat(9) }, 'request.name: 9 characters (at most 8), starting "xxxxxxxxx"'],
    [{ rules: [1, 2, 3, 4] }, 'request.rules: 4 entries (at most 3)'],
    [{ labels: { a: '1', b: '2', c: '3', d: '4' } }, 'request.labels: 4 entries (at most 3)'],
    [
      { labels: { ['k'.repeat(9)]: 'v' } },
      'request.labels: a key of 9 characters (at most 8), starting "kkkkkkkkk"',
    ],
    [{ a: { b: { c: { d: { e: 1 } } } } }, 'request.a.b.c.d: nested deeper than 4'],
    [
      { rules: [{ name: 'ok' }, { name: 'y'.repeat(40) }] },
      'request.rules[1].name: 40 characters (at most 8), starting "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"…',
    ],
  ])('names the field and quotes at most a prefix: %j', (request, message) => {
    expect(checkBounds(request, bounds)).toBe(message);
  });
});
