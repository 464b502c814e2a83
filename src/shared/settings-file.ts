// Reading a file an operator named (config, policy, inventory): a typo pointing at a pipe, a device
// or a huge file must fail naming it, never hang the command or the daemon.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { InputError, errorMessage } from '../errors.js';

/** Far beyond any config or policy file; /dev/zero or a runaway generator stops here, not at the heap limit. */
export const MAX_SETTINGS_FILE_BYTES = 16 * 1024 * 1024;

/**
 * A config or policy file's text. A named pipe or socket is refused before any read: opening a pipe
 * with no writer waits forever (O_NONBLOCK makes the open return), and a device is read at most
 * MAX_SETTINGS_FILE_BYTES (/dev/null is empty, /dev/zero is refused, a terminal answers EAGAIN).
 */
export function readSettingsFile(path: string, what: string): string {
  const refuse = (why: string): InputError => new InputError(`${what} ${path}: cannot read: ${why}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (st.isDirectory()) throw refuse('a directory, not a file');
    if (!st.isFile() && !st.isCharacterDevice()) throw refuse(`${st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'a special file'}, not a file (write the text to a file first)`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_SETTINGS_FILE_BYTES) throw refuse(`larger than ${MAX_SETTINGS_FILE_BYTES / 1024 / 1024} MiB`);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    throw err instanceof InputError ? err : refuse(errorMessage(err));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

