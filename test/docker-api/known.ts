/**
 * The documented differences between a real Docker engine and the lab's
 * docker.sock (docs/docker-api.md lists the same ids). A scenario that names
 * one must differ from Docker (else the entry is stale and the suite says
 * so) and must be equal once the entry's `normalize` is applied to both
 * outputs: the difference is exactly the documented one, nothing more.
 */
export interface KnownDifference {
  id: string;
  /** One line for results.md. */
  summary: string;
  normalize(text: string): string;
}

export const KNOWN: KnownDifference[] = [];

export function knownDifference(id: string): KnownDifference {
  const known = KNOWN.find((k) => k.id === id);
  if (!known) throw new Error(`no known difference ${id} in known.ts`);
  return known;
}
