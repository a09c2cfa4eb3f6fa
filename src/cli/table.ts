// Human output: aligned columns, and times as a local date and a duration ("12s ago"), while
// `--json` keeps the API's numbers.
import type { AgentEvent } from '../registry/index.ts';

/** Columns padded to their widest cell, two spaces apart; numbers right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((row) => row.map(String))];
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const widths = head.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${cells.map(line).join('\n')}\n`;
}

/** `[#####.....]`: a fraction (clamped to 0..1) as a bar `width` characters wide, for progress on stderr. */
export function meter(fraction: number, width: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** "label  value" lines, labels padded to the longest. */
export function fields(pairs: [string, string | number][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width + 1)}  ${value}\n`).join('');
}

/** 12_000 → "12s", 90_000 → "1m 30s", 3 days → "3d": the two largest units, at most. */
export function duration(ms: number): string {
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]];
  let rest = Math.max(0, Math.round(ms / 1000) * 1000);
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    } else if (parts.length > 0) break; // "1h 5s" would mislead: the minutes were skipped
  }
  return parts.join(' ') || '0s';
}

/** A moment relative to now: "12s ago", "in 3m". */
export function relative(at: number, now: number): string {
  return at <= now ? `${duration(now - at)} ago` : `in ${duration(at - now)}`;
}

/** A moment as a local date and time, with how long ago (or until) it is. */
export function when(at: number, now: number): string {
  return `${new Date(at).toLocaleString()} (${relative(at, now)})`;
}

/** A record's last events (an agent's or a framework's) as a table after a blank line; nothing when there are none. */
export function eventTable(events: AgentEvent[], now: number): string {
  return events.length === 0 ? '' : `\n${table(['AT', 'EVENT', 'BY', 'REASON'], events.map((e) => [when(e.at, now), e.type, e.by, e.reason ?? '']))}`;
}
