/**
 * A covering set of combinations in which every pair of values of two parameters that
 * can occur together does occur together (pairwise testing). Greedy and deterministic:
 * each pick is the valid combination covering the most pairs not covered yet.
 */
export type Params = Record<string, readonly (string | number | boolean)[]>;
export type Combo = Record<string, string | number | boolean>;

const pairsOf = (c: Combo, keys: string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < keys.length; i++)
    for (let j = i + 1; j < keys.length; j++) out.push(`${keys[i]}=${String(c[keys[i]!])}&${keys[j]}=${String(c[keys[j]!])}`);
  return out;
};

function* everyCombo(params: Params, keys: string[], i = 0, acc: Combo = {}): Generator<Combo> {
  if (i === keys.length) return yield { ...acc };
  for (const v of params[keys[i]!]!) yield* everyCombo(params, keys, i + 1, { ...acc, [keys[i]!]: v });
}

export function pairwise(params: Params, valid: (c: Combo) => boolean): { combos: Combo[]; uncovered: (c: Combo[]) => string[] } {
  const keys = Object.keys(params);
  const all = [...everyCombo(params, keys)].filter(valid).map((c) => ({ c, pairs: pairsOf(c, keys) }));
  const wanted = new Set(all.flatMap((x) => x.pairs));
  const left = new Set(wanted);
  const combos: Combo[] = [];
  while (left.size > 0) {
    let best = all[0]!;
    let bestGain = -1;
    for (const x of all) {
      let gain = 0;
      for (const p of x.pairs) if (left.has(p)) gain++;
      if (gain > bestGain) {
        best = x;
        bestGain = gain;
      }
    }
    combos.push(best.c);
    for (const p of best.pairs) left.delete(p);
  }
  return {
    combos,
    uncovered: (chosen) => {
      const seen = new Set(chosen.flatMap((c) => pairsOf(c, keys)));
      return [...wanted].filter((p) => !seen.has(p));
    },
  };
}
