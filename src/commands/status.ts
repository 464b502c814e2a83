// `warden status`: one screen of what running warden processes recorded about their own health,
// read from the database alone (fast, no network). It never creates or migrates the database.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { CommandError } from '../errors.js';

export function registerStatusCommand(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('status')
    .description("one screen of warden's own health from its database (kill switch, safe mode, breakers, watches, outbox, open work); exit 1 naming each problem")
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const [{ openExistingDb }, { finishReport }, { readRecordedHealth, recordedChecks }, { tokenExpiryCheck }] = await Promise.all([
        import('../store/existing-db.js'), import('./health-report.js'), import('./recorded-health.js'), import('./token-expiry.js'),
      ]);
      const existing = openExistingDb(config.dataDir);
      if (!existing) throw new CommandError(`${(await import('./data-dir.js')).missingDatabase(config)} (see \`warden doctor\`)`);
      const { db, version, expected } = existing;
      try {
        if (version !== expected) {
          throw new CommandError(version < expected
            ? `database schema version ${version} is older than this warden's (${expected}): start warden once to migrate it`
            : `database schema version ${version} is newer than this warden's (${expected}): upgrade warden`);
        }
        const now = new Date();
        const health = readRecordedHealth(db, now);
        const checks = [...recordedChecks(health, config.loop.heartbeat?.intervalSeconds, now), tokenExpiryCheck(db, now)];
        finishReport('status', `warden status of ${config.dataDir} at ${now.toISOString()}`, checks, { json: opts.json, extra: { dataDir: config.dataDir, at: now.toISOString(), ...health } });
      } finally {
        db.close();
      }
    });
}
