/**
 * One JSONCompactEachRow line: a row's values as a JSON array, in the order of `columns` (the
 * insert names the same columns). ClickHouse inserts such lines 1.5 to 2 times faster than the
 * same rows as objects (JSONEachRow), and they are half the bytes. A value left undefined is
 * written as null, which the column takes as its default.
 */
export function compactLine<C extends string>(columns: readonly C[], row: Readonly<Record<C, unknown>>): string {
  return `${JSON.stringify(columns.map((column) => row[column] ?? null))}\n`;
}
