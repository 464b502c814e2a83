// `npm run pack:mcpb [-- --out-dir DIR]`: warden as a Claude Desktop bundle (.mcpb, a zip of
// manifest.json, dist/ and the production node_modules), packed by the official @anthropic-ai/mcpb.
// Everything is staged in a temp dir: the repo's dist/ and node_modules/ are read, never written,
// so tests running against them at the same time are not disturbed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packExtension } from '@anthropic-ai/mcpb';
import { CATALOG, filterCatalog } from '../src/tools/catalog.js';
import { buildManifest, bundleName, type BuildFacts, type PackageJson } from './pack-mcpb-manifest.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SQLITE_BINDING = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

// Sources of native modules (compiled already) and optional bindings the install scripts would
// have built (skipped: ssh2 falls back to pure JS without them); they only make the bundle larger.
const MCPB_IGNORE = [
  'node_modules/better-sqlite3/deps',
  'node_modules/better-sqlite3/src',
  'node_modules/cpu-features/deps',
  'node_modules/cpu-features/src',
];

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(`${basename(cmd)} ${args.join(' ')} (in ${cwd}): ${why}\n${`${r.stdout}${r.stderr}`.slice(-4000)}`);
  }
}

/** The npm that runs this script (`npm run` sets npm_execpath), so Windows needs no `npm.cmd` lookup. */
function npm(args: string[], cwd: string): void {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.js$/.test(cli)) run(process.execPath, [cli, ...args], cwd);
  else run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, cwd);
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Into <stage>/dist, from src/: the repo's own dist/ may be stale or half rebuilt by someone else. */
function compile(stage: string): void {
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(stage, 'dist'), '--sourceMap', 'false'], ROOT);
}

/**
 * Production dependencies exactly as the lockfile pins them. Install scripts are skipped (they would
 * download prebuilt binaries or compile); better-sqlite3, the one native module warden needs, gets
 * the binary this checkout already built, or else is rebuilt here.
 */
function installProductionDeps(stage: string, pkg: Record<string, unknown>): void {
  const { scripts: _scripts, ...rest } = pkg;
  writeFileSync(join(stage, 'package.json'), JSON.stringify(rest, null, 2));
  copyFileSync(join(ROOT, 'package-lock.json'), join(stage, 'package-lock.json'));
  npm(['ci', '--omit=dev', '--ignore-scripts', '--no-bin-links', '--no-audit', '--no-fund', '--prefer-offline'], stage);

  const version = (dir: string): string | undefined =>
    existsSync(join(dir, 'node_modules', 'better-sqlite3', 'package.json')) ? readJson<{ version: string }>(join(dir, 'node_modules', 'better-sqlite3', 'package.json')).version : undefined;
  if (existsSync(join(ROOT, SQLITE_BINDING)) && version(ROOT) === version(stage)) {
    mkdirSync(dirname(join(stage, SQLITE_BINDING)), { recursive: true });
    copyFileSync(join(ROOT, SQLITE_BINDING), join(stage, SQLITE_BINDING));
  } else {
    npm(['rebuild', 'better-sqlite3', '--ignore-scripts=false', '--foreground-scripts'], stage);
  }
  // A bundle whose database cannot open is worse than no bundle: fail here, not in Claude Desktop.
  run(process.execPath, ['-e', "const D = require('better-sqlite3'); new D(':memory:').prepare('select 1').get()"], stage);
}

/** The tools a default config lists, each with the first sentence of its description. */
function defaultTools(): { name: string; description: string }[] {
  return filterCatalog(CATALOG, { readOnly: false, disabled: [], enabled: [] }).map((t) => {
    const first = /^.*?[.!?](?=\s|$)/.exec(t.description)?.[0] ?? t.description;
    return { name: t.name, description: first.length > 200 ? `${first.slice(0, 199)}…` : first };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
  const started = Date.now();
  const pkg = readJson<PackageJson & Record<string, unknown>>(join(ROOT, 'package.json'));
  const facts: BuildFacts = { platform: process.platform as BuildFacts['platform'], nodeVersion: process.versions.node };
  if (!['darwin', 'win32', 'linux'].includes(facts.platform)) throw new Error(`platform ${facts.platform}: a bundle can only declare darwin, win32 or linux`);
  const manifest = buildManifest(pkg, defaultTools(), facts);
  const outDir = resolve(values['out-dir'] ?? join(ROOT, 'dist-mcpb'));
  const out = join(outDir, `${bundleName(pkg.name)}-${pkg.version}.mcpb`);

  const stage = mkdtempSync(join(tmpdir(), 'warden-mcpb-'));
  try {
    compile(stage);
    installProductionDeps(stage, pkg);
    // What the bundle's package.json needs at run time: `type: module` for dist/, and who it is.
    const { name, version, description, license, type, engines, dependencies } = pkg;
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ name, version, description, license, type, engines, dependencies }, null, 2)}\n`);
    rmSync(join(stage, 'package-lock.json'));
    writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(stage, '.mcpbignore'), `${MCPB_IGNORE.join('\n')}\n`);
    // mcpb lists the archive relative to the working directory: from the stage, it lists paths in the bundle.
    const cwd = process.cwd();
    process.chdir(stage);
    try {
      if (!(await packExtension({ extensionPath: stage, outputPath: out, silent: false }))) {
        throw new Error('mcpb pack refused the staged bundle (its reason is printed above)');
      }
    } finally {
      process.chdir(cwd);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true, maxRetries: 3 });
  }
  const mib = (statSync(out).size / 1024 / 1024).toFixed(1);
  process.stdout.write(`\nbundle for ${facts.platform}, Node ${facts.nodeVersion.split('.')[0]}: ${mib} MiB in ${((Date.now() - started) / 1000).toFixed(0)} s\n${out}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`pack:mcpb: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
