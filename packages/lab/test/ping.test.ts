import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePing } from '../src/probes/ping.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('ping output (iputils, captured)', () => {
  it('gives every reply time in µs and the summary counts', () => {
    const result = parsePing(fixture('ping-replies.txt'));
    expect(result).toMatchObject({ sent: 3, received: 3, resolved: true });
    expect(result.rttsUs.map(Math.round)).toEqual([28, 34, 33]);
  });

  it('tells a name that did not resolve from lost replies', () => {
    expect(parsePing(fixture('ping-unknown-name.txt'))).toMatchObject({
      sent: 0,
      received: 0,
      rttsUs: [],
      resolved: false,
    });
  });
});
