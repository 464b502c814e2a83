// nvidia-smi's CSV (`--format=csv,noheader,nounits`), read the same way by gpu_status and by the
// remote metrics probe. Pure: tested against the text the real program prints.

/**
 * Splits one line into exactly `count` fields. nvidia-smi does not quote, so a value that itself
 * contains ", " (a process path, say) would shift the columns: the field at `freeIndex` takes
 * whatever the fixed fields on either side leave over. Undefined when the line has too few fields.
 */
export function splitSmiLine(line: string, count: number, freeIndex: number): string[] | undefined {
  const parts = line.split(', ');
  if (parts.length < count) return undefined;
  const tail = count - freeIndex - 1;
  const head = parts.slice(0, freeIndex);
  const free = parts.slice(freeIndex, parts.length - tail).join(', ');
  return [...head, free, ...parts.slice(parts.length - tail)].map((p) => p.trim());
}

/** `[N/A]`, `[Not Supported]`, `[Unknown Error]`, `[Insufficient Permissions]`... mean "no value". */
export function smiNumber(value: string | undefined): number | null {
  if (value === undefined || value === '' || value.startsWith('[')) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

export function smiText(value: string | undefined): string | null {
  return value === undefined || value === '' || value.startsWith('[') ? null : value;
}

/** Non-empty lines of nvidia-smi output. */
export function smiLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}
