// The built-in policy's decision for every write tool, asked of the real `warden policy check`
// command: low-risk writes run and notify, medium and high wait for a human.
// To add a tool: one row in WRITE_TOOLS (tool, arguments, risk, decision, target); the tests below
// cover it with no other change.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirEnv, warden } from '../support/cli.js';
import { EXAMPLE_INVENTORY } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';

type Row = [tool: string, args: Record<string, unknown>, risk: 'low' | 'medium' | 'high', decision: 'notify' | 'approve', target: string];

const WRITE_TOOLS: Row[] = [
  ['restart_container', { container: 'web' }, 'low', 'notify', 'local/web'],
  ['start_container', { container: 'web' }, 'low', 'notify', 'local/web'],
  ['stop_container', { container: 'web' }, 'medium', 'approve', 'local/web'],
  ['recreate_container', { container: 'web' }, 'medium', 'approve', 'local/web'],
  ['docker_prune', { labels: ['warden-test=prune'] }, 'medium', 'approve', 'local/*'],
  ['gpu_reset', { gpu: 1 }, 'high', 'approve', 'local/gpu1'],
  ['reload_nginx', { confPath: '/etc/nginx/nginx.conf' }, 'low', 'notify', 'local/nginx'],
  ['reload_nginx', { container: 'proxy' }, 'low', 'notify', 'local/proxy'],
];

function check(tool: string, args: Record<string, unknown>, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir('write-policy');
  // A socket nobody serves: the answer must not depend on whether this machine runs a Docker.
  const r = warden(['policy', 'check', '--principal', 'loop', '--tool', tool, '--args', JSON.stringify(args), ...extra], { ...dataDirEnv(dir), DOCKER_HOST: `unix://${join(dir, 'none.sock')}`, ...env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { decision: string; risk: string; rule: string; reason: string; target: string; dryRun: boolean };
}

describe('the built-in policy for write tools', () => {
  it.each(WRITE_TOOLS)('%s -> %s-risk default (%s)', (tool, args, risk, decision, target) => {
    // No Docker answers here, so a container is decided by the name as given, and the output says so.
    const names = 'container' in args;
    expect(check(tool, args)).toEqual({
      decision, risk, rule: `default:${risk}`, reason: `default for ${risk}-risk tools`, target, dryRun: false, nearMisses: [],
      ...(names ? { unresolved: expect.stringMatching(/^Docker on host local is unreachable/) } : {}),
    });
  });

  it.each(WRITE_TOOLS)('%s is denied to the readonly role', (tool, args, risk) => {
    expect(check(tool, args, ['--role', 'readonly'])).toMatchObject({ decision: 'deny', risk, rule: 'role:readonly' });
  });

  it.each(WRITE_TOOLS)('%s is decided but not executed under dryRun', (tool, args, _risk, decision) => {
    const policy = join(tempDir('write-policy'), 'policy.yaml');
    writeFileSync(policy, 'dryRun: true\nrules: []\n');
    expect(check(tool, args, [], { WARDEN_POLICY: policy })).toMatchObject({ decision, dryRun: true });
  });
});

// run_runbook has no tier of its own: the gate decides on the named runbook's declared risk, so the
// example inventory is loaded into the data dir first.
const RUNBOOKS: Array<[runbook: string, args: Record<string, unknown>, risk: string, decision: string, readonlyDecision: string]> = [
  ['disk-usage', { params: { path: '/var/lib/docker' } }, 'read', 'allow', 'allow'],
  ['clean-old-logs', { params: { dir: '/var/log/nginx', days: '14' } }, 'medium', 'approve', 'deny'],
  ['restart-unit', { host: 'gpu-worker', params: { unit: 'docker.service' } }, 'medium', 'approve', 'deny'],
];

describe('the built-in policy for run_runbook', () => {
  function withInventory(): NodeJS.ProcessEnv {
    const env = dataDirEnv(tempDir('write-policy'));
    const r = warden(['inventory', 'load', EXAMPLE_INVENTORY], env);
    expect(r.status, r.stderr).toBe(0);
    return env;
  }

  it.each(RUNBOOKS)('run_runbook %s %j -> its own %s risk: %s', (runbook, args, risk, decision, readonlyDecision) => {
    const env = withInventory();
    const host = (args.host as string | undefined) ?? 'local';
    expect(check('run_runbook', { runbook, ...args }, [], env)).toEqual({
      decision, risk, rule: `default:${risk}`, reason: `default for ${risk}-risk tools`, target: `${host}/runbook:${runbook}`, dryRun: false, nearMisses: [],
    });
    expect(check('run_runbook', { runbook, ...args }, ['--role', 'readonly'], env)).toMatchObject({ decision: readonlyDecision, risk });
  });
});
