// Compares two token-id sequences of the same text. A positional count is useless after the first
// difference (everything shifts), so this walks both, and at each difference looks for the nearest
// point where they agree again for ANCHOR ids: each such detour is one differing region.

const ANCHOR = 8;
/** Furthest either side may run ahead when looking for agreement again. */
const WINDOW = 256;

export interface IdDiff {
  identical: boolean;
  /** Differing stretches. */
  regions: number;
  /** Ids inside those stretches, on each side. */
  oursIds: number;
  theirsIds: number;
  /** Index in `ours` of the first difference, or -1. */
  firstOurs: number;
  firstTheirs: number;
  /** True when no agreement was found again within WINDOW ids: the rest counted as one region. */
  lostSync: boolean;
}

type Ids = ArrayLike<number>;

function agree(a: Ids, i: number, b: Ids, j: number): boolean {
  const n = Math.min(ANCHOR, a.length - i, b.length - j);
  // Near the end both must end together, or the agreement must be a full anchor.
  if (n < ANCHOR && a.length - i !== b.length - j) return false;
  for (let k = 0; k < n; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

export function diffIds(ours: Ids, theirs: Ids): IdDiff {
  const d: IdDiff = {
    identical: true, regions: 0, oursIds: 0, theirsIds: 0, firstOurs: -1, firstTheirs: -1, lostSync: false,
  };
  let i = 0;
  let j = 0;
  while (i < ours.length || j < theirs.length) {
    if (i < ours.length && j < theirs.length && ours[i] === theirs[j]) { i++; j++; continue; }
    if (d.identical) { d.identical = false; d.firstOurs = i; d.firstTheirs = j; }
    d.regions++;
    let found = false;
    // Smallest total skip first, so a region is as short as it can be.
    for (let s = 1; s <= 2 * WINDOW && !found; s++) {
      for (let di = Math.max(0, s - WINDOW); di <= Math.min(s, WINDOW); di++) {
        const dj = s - di;
        if (i + di > ours.length || j + dj > theirs.length) continue;
        if (agree(ours, i + di, theirs, j + dj)) {
          d.oursIds += di; d.theirsIds += dj; i += di; j += dj;
          found = true;
          break;
        }
      }
    }
    if (!found) {
      d.lostSync = true;
      d.oursIds += ours.length - i; d.theirsIds += theirs.length - j;
      break;
    }
  }
  return d;
}

/** "yes", or a short account of the differences. */
export function describeDiff(d: IdDiff): string {
  if (d.identical) return 'yes';
  const lost = d.lostSync ? ', lost sync' : '';
  return `no: ${d.regions} region${d.regions === 1 ? '' : 's'}, ${d.oursIds} vs ${d.theirsIds} ids` +
    ` (first at id ${d.firstOurs}${lost})`;
}
