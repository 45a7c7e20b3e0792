/**
 * Aligned text columns as Go's text/tabwriter prints istioctl's tables (minwidth 0, padded with
 * spaces, the last column not padded), so our views line up the same way. istioctl pads its
 * ztunnel-config tables by 1 and the certificates table by 5.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], padding = 1): string {
  const all = [header, ...rows];
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return all.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd((widths[i] ?? 0) + padding) : cell)).join('')).map((l) => `${l}\n`).join('');
}
