// `warden doctor`'s run, loaded when the command runs: the checks reach Docker, SSH, the Messages
// API and the webhooks through the adapters, none of which `warden --help` may load.
import { localHost } from '../adapters/hosts.js';
import type { ConfigLoader } from '../config.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import { configCheck, dataDirChecks, databaseCheck, diskCheck, inventoryCheck, policyCheck } from './doctor-checks.js';
import { dockerChecks, modelCheck, sshChecks, webhookChecks, type PendingCheck } from './doctor-endpoints.js';
import { fail, finishReport, type HealthCheck } from './health-report.js';
import { gateChecks, readRecordedHealth } from './recorded-health.js';
import { withLocalHost } from '../store/inventory-file.js';
import { tokenExpiryCheck } from './token-expiry.js';

export interface DoctorOptions {
  json?: boolean;
  timeout: number;
}

/** Runs the check; a FAIL naming the deadline when it has not answered by then. */
function bounded(check: PendingCheck, timeoutMs: number): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<HealthCheck>((resolve) => {
    timer = setTimeout(() => resolve(fail(check.name, `no answer within ${timeoutMs / 1_000}s`)), timeoutMs);
  });
  const run = check.run().catch((err: unknown) => fail(check.name, errorMessage(err)));
  return Promise.race([run, late]).finally(() => clearTimeout(timer));
}

/** Waits for `p`, at most `ms`. */
async function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

export async function doctor(loadConfig: ConfigLoader, loadWithoutFile: ConfigLoader, opts: DoctorOptions): Promise<void> {
  const timeoutMs = Math.round(opts.timeout * 1_000);
  const { config, check: configResult } = configCheck(loadConfig, loadWithoutFile);
  const log = createLogger(config.logLevel);
  const { existing, check: dbResult } = databaseCheck(config.dataDir);
  try {
    const local = [configResult, ...dataDirChecks(config.dataDir), dbResult, diskCheck(config.dataDir), policyCheck(config)];
    const { specs, check: inventoryResult } = inventoryCheck(existing, config.inventoryDir);
    const hosts = withLocalHost(localHost(config.dockerHost), specs);
    const docker = dockerChecks(hosts, timeoutMs, log);
    const pending = [...docker.checks, ...sshChecks(hosts, timeoutMs, log), modelCheck(config, timeoutMs), ...webhookChecks(config, timeoutMs)];
    const remote = await Promise.all(pending.map((c) => bounded(c, timeoutMs)));
    // A check cut off at its deadline may leave an SSH handshake open: closing waits at most that long again.
    await atMost(docker.close(), timeoutMs);
    const now = new Date();
    const gate = existing ? [...gateChecks(readRecordedHealth(existing.db, now), now), tokenExpiryCheck(existing.db, now)] : [];
    const checks = [...local, inventoryResult, ...remote, ...gate];
    finishReport('doctor', `warden doctor of ${config.dataDir} at ${now.toISOString()}`, checks, { json: opts.json, extra: { dataDir: config.dataDir, timeoutSeconds: opts.timeout } });
  } finally {
    existing?.db.close();
  }
}
