// Preloaded with `node --import`: records the module files a process loaded, one file URL a line,
// into the file named by WARDEN_LOAD_LOG, so a test can see what a command loaded (never how fast).
// ES modules as the loader resolves them (hooks on the loader's thread), CommonJS ones (also those
// an ES module imports or require()s lazily) from require.cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The last line, once the process has exited: the list is complete. */
export const EXITED = '# exited';

const file = process.env.WARDEN_LOAD_LOG;
if (file) {
  register('./load-recorder-hooks.mjs', import.meta.url, { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(file, `${Object.keys(cache).map((path) => `${pathToFileURL(path).href}\n`).join('')}${EXITED}\n`);
  });
}
