// Repeated measurements on a shared machine: the bench runs every row once per round, alternating
// the rows inside a round, and reports each row's median over the rounds with its spread. Ratios
// (a row over its same-run reference) are taken per round first, so both sides of a ratio share
// that round's load, and then their median is reported.

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** [min, max] of the finite numbers in xs, or undefined. */
export function spread(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : undefined;
}

/**
 * One object from several rounds' objects of the same shape: every number becomes the median of
 * that field over the rounds (nested objects likewise); anything else is taken from the first.
 */
export function medianObject(objs) {
  const list = objs.filter((o) => o !== undefined && o !== null);
  if (list.length === 0) return undefined;
  const first = list[0];
  if (typeof first === 'number') return roundTo(median(list), 3);
  if (typeof first !== 'object' || Array.isArray(first)) return first;
  const out = {};
  for (const key of new Set(list.flatMap((o) => Object.keys(o)))) out[key] = medianObject(list.map((o) => o[key]));
  return out;
}

/** The median of a per-round figure and its spread, e.g. { median: 1.2, spread: [1.1, 1.4], n: 3 }. */
export function summary(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return { median: median(v), spread: spread(v), n: v.length };
}

/** The rows in the order round `r` runs them: rotated by one each round, so no row always runs first. */
export function orderForRound(rows, r) {
  if (rows.length === 0) return rows;
  const k = r % rows.length;
  return [...rows.slice(k), ...rows.slice(0, k)];
}

function roundTo(x, digits) {
  if (x === undefined) return undefined;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
