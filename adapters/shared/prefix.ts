// A prefix as a key range, so that a store reads only the keys under it (SQLite from its index, LevelDB from its files).

/**
 * The least string above every string that starts with `prefix`, in code-point order (the order of
 * UTF-8 bytes, SQLite's BINARY collation); undefined when there is none (an empty prefix, or one
 * made of U+10FFFF only).
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}
