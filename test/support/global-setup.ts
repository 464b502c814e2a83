// One vitest run: a private temp dir for every service, and a teardown that stops, by pid,
// whatever a test file left running.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killRecorded } from './processes.js';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'warden-test-'));
  process.env.WARDEN_TEST_RUN_DIR = dir;
  return () => {
    const killed = killRecorded();
    if (killed > 0) process.stderr.write(`global teardown: stopped ${killed} leftover process(es)\n`);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
