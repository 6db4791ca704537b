import type { OrganizationCounts } from '../../../src/consumers/alerts/blast-radius.ts';

/**
 * The plain reference: every subset of organizations, smallest first; the first size at which removing some subset
 * leaves the rest healthy (recomputed from scratch, as a rate) is the number of organizations the breach needs.
 */
export function referenceSize(orgs: readonly OrganizationCounts[], threshold: number): number {
  const n = orgs.length;
  let best = Infinity;
  for (let mask = 0; mask < 1 << n; mask++) {
    let size = 0;
    let failed = 0;
    let completed = 0;
    for (let i = 0; i < n; i++) {
      if (mask & (1 << i)) size++;
      else {
        failed += orgs[i].failed;
        completed += orgs[i].completed;
      }
    }
    if (size < best && (completed === 0 || failed / completed <= threshold)) best = size;
  }
  return best;
}
