// Runs the built `warden` command as a user would: a real process, its exit code and output.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir, waitFor, type Started } from './processes.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The default data dir is the XDG data home: a test that names none must not write into the user's. */
let dataHome: string | undefined;

export function warden(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
  dataHome ??= tempDir('xdg-data');
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, XDG_DATA_HOME: dataHome, WARDEN_LOG_LEVEL: 'warn', ...env },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function dataDirEnv(dir: string): NodeJS.ProcessEnv {
  return { WARDEN_DATA_DIR: join(dir, 'data') };
}

/** Waits for a started `warden serve` to log that it is ready, and returns the URL it serves. */
export async function readyUrl(serve: Started): Promise<string> {
  let url = '';
  await waitFor('warden serve', async () => {
    url = /"url":"([^"]+)"[^\n]*"msg":"warden serve ready"/.exec(serve.output())?.[1] ?? '';
    return url !== '';
  }, serve);
  return url;
}
