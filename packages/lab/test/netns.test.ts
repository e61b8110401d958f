import { describe, expect, it } from 'vitest';
import { uniqueSuffix } from '../src/netns.js';

describe('names of namespaces a process makes', () => {
  it("never repeat within the process, and carry the process's pid", () => {
    const suffixes = Array.from({ length: 100 }, () => uniqueSuffix());
    expect(new Set(suffixes).size).toBe(100);
    for (const suffix of suffixes) {
      expect(suffix.startsWith(process.pid.toString(36))).toBe(true);
      expect(suffix.length).toBeLessThanOrEqual(9);
    }
  });
});
