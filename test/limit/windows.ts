/** A release as a test observed it: when, and how many units it spent. */
export interface Release {
  at: number;
  cost: number;
}

/** The most units any half-open window [t, t + periodMs) holds, over all t. */
export function worstWindow(releases: Release[], periodMs: number): number {
  const sorted = [...releases].sort((a, b) => a.at - b.at);
  let worst = 0;
  let sum = 0;
  let tail = 0;
  for (const release of sorted) {
    sum += release.cost;
    while ((sorted[tail] as Release).at <= release.at - periodMs) {
      sum -= (sorted[tail] as Release).cost;
      tail++;
    }
    worst = Math.max(worst, sum);
  }
  return worst;
}
