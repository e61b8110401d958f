/**
 * What the conformance suite does not compare: ids, timestamps and relative
 * times differ between any two engines, so both outputs get the same
 * placeholders before the comparison. Nothing else is normalised here; the
 * remaining differences are the documented ones (known.ts).
 */

/** Ids (64 and 12 hex digits), ISO 8601 times and "N seconds ago" replaced by placeholders. */
export function normalize(text: string): string {
  return text
    .replace(/\b[0-9a-f]{64}\b/g, '<ID>')
    .replace(/\b[0-9a-f]{12}\b/g, '<SHORT-ID>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, '<TIME>')
    .replace(
      /\b(Less than a second|About a minute|About an hour|\d+ (seconds|minutes|hours))( ago)?\b/g,
      '<WHEN>',
    )
    .replace(/"Created": \d+/g, '"Created": <TIME>');
}
