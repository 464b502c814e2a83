// clean_disk's commands and their output: the GNU find that lists or deletes old regular files in
// one cleanup place, and df for the filesystem holding it. Pure; argv only, never a shell string.
import { ToolFailure } from '../errors.js';

export const MINUTES_PER_DAY = 24 * 60;

export interface FoundFile {
  path: string;
  sizeBytes: number;
}

/** The place as the inventory stores it: no trailing or doubled slashes; "/" stays "/". */
export function normalisePlacePath(path: string): string {
  return path.replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
}

/**
 * `find` over one place. -P: symlinks are never followed, and -type f never matches one, so a link
 * to a file elsewhere is neither deleted nor its target touched. -xdev: no other filesystem mounted
 * below. -mindepth 1: the place itself is never a candidate, even if it became a file. Age is
 * `-mmin +days*1440`: last modified strictly more than days x 24 h before find started (GNU
 * -mtime would round the age down to whole days first). Each hit prints "size<TAB>path<NUL>"; with
 * `delete`, -delete comes first, so only files really removed are printed.
 */
export function cleanupFindArgv(place: { path: string; names: readonly string[] }, olderThanDays: number, mode: 'delete' | 'list'): string[] {
  // A path starting with "-" would be read as an expression; the schema makes this impossible.
  if (!place.path.startsWith('/')) throw new ToolFailure('internal', 'a cleanup place must be an absolute path');
  const names = place.names.length === 0 ? [] : ['(', ...place.names.flatMap((n, i) => (i === 0 ? ['-name', n] : ['-o', '-name', n])), ')'];
  return [
    'find', '-P', place.path, '-xdev', '-mindepth', '1', '-type', 'f', '-mmin', `+${olderThanDays * MINUTES_PER_DAY}`, ...names,
    ...(mode === 'delete' ? ['-delete'] : []), '-printf', '%s\\t%p\\0',
  ];
}

/** `df -P -k` of the filesystem holding `path`; "--" so no path can pass for an option. */
export function dfArgv(path: string): string[] {
  return ['df', '-P', '-k', '--', path];
}

/**
 * The records of cleanupFindArgv's output. A last record without its NUL was cut by the output
 * cap and is dropped (`cut`); names may hold tabs and newlines, so only the first tab splits.
 */
export function parseFindOutput(stdout: string): { files: FoundFile[]; cut: boolean } {
  const records = stdout.split('\0');
  const last = records.pop();
  const files: FoundFile[] = [];
  for (const r of records) {
    const tab = r.indexOf('\t');
    const size = Number(r.slice(0, tab));
    if (tab <= 0 || !Number.isSafeInteger(size)) continue;
    files.push({ path: r.slice(tab + 1), sizeBytes: size });
  }
  return { files, cut: last !== undefined && last !== '' };
}

export interface Usage {
  usePercent: number;
  availableBytes: number;
}

/**
 * POSIX `df -P -k`: a header, then "Filesystem 1024-blocks Used Available Capacity% Mounted-on";
 * the device and the mount point may hold spaces, so the line is read at its four numbers.
 */
export function parseDfUsage(text: string): Usage | null {
  const line = text.split('\n').slice(1).find((l) => l.trim() !== '');
  const m = line === undefined ? null : /\s(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s/.exec(line);
  if (!m) return null;
  return { usePercent: Number(m[4]), availableBytes: Number(m[3]) * 1024 };
}
