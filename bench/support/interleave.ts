/**
 * Interleaving a measurement with its baseline: the shared machines drift by tens of percent
 * within a minute, so a figure measured in one block and its baseline in the next can differ for
 * reasons neither has. Alternating short rounds (A, B, A, B, ...) spreads the drift over both.
 */

/** interleave runs `measure` and `baseline` alternately `rounds` times and returns each one's results in order. */
export async function interleave<T>(
  rounds: number,
  measure: (round: number) => Promise<T>,
  baseline: (round: number) => Promise<T>,
): Promise<{ measured: T[]; baseline: T[] }> {
  const measured: T[] = [];
  const base: T[] = [];
  for (let round = 0; round < rounds; round++) {
    measured.push(await measure(round));
    base.push(await baseline(round));
  }
  return { measured, baseline: base };
}
