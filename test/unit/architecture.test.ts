// The layer rules are enforced, not just written down: the real tree passes them, a tree that
// breaks them fails, and the globals a rule file cannot see (fetch, process.env) stay where they belong.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { cruise, type IConfiguration, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';

const root = resolve(import.meta.dirname, '../..');
const rules = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;

async function violations(baseDir: string): Promise<string[]> {
  const { tsConfig: _t, ...options } = rules.options ?? {};
  const result = await cruise(['src'], { ...options, ruleSet: { forbidden: rules.forbidden }, baseDir, validate: true });
  return (result.output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

describe('layer rules', () => {
  it('the source tree has no violation and no cycle', async () => {
    expect(await violations(root)).toEqual([]);
  }, 60_000);

  it('catch an upward import, an adapter reaching into policy, and a type-only cycle', async () => {
    const found = await violations(join(root, 'test/fixtures/layers'));
    expect(found).toContain('store-imports-no-upper-layer: src/store/incidents.ts -> src/loop/incident.ts');
    expect(found).toContain('adapters-import-no-other-layer: src/adapters/docker.ts -> src/policy/a.ts');
    expect(found.some((v) => v.startsWith('no-cycles: src/policy/'))).toBe(true);
  }, 60_000);

  it.each([
    ['outbound fetch', /\bfetch\(/, ['src/adapters/']],
    // The one other reader hands the environment on to a child process (PATH finds nginx).
    ['process.env', /process\.env\b/, ['src/config.ts', 'src/adapters/local-commands.ts']],
  ])('%s appears only in %j', (_what, pattern, allowed) => {
    const offenders = sources(join(root, 'src'))
      .filter((f) => !allowed.some((a) => f.startsWith(a)))
      .filter((f) => readFileSync(join(root, f), 'utf8').split('\n').some((line) => pattern.test(line) && !/^\s*(\/\/|\*)/.test(line) && !/\.fetch\(|fetch: \(/.test(line)));
    expect(offenders).toEqual([]);
  });
});
