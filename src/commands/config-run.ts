// The action of `warden config check`, loaded when it runs. Everything it does is a read: the config
// file, the policy file, the inventory YAML, and whether the files they name can be opened.
import { accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, type Config, type ConfigFlags, type SettingOrigin } from '../config.js';
import { fileProblem } from '../adapters/hosts.js';
import { InputError } from '../errors.js';
import { readInventoryDir, unreadableHostFiles, type Inventory } from '../store/inventory-file.js';
import { CATALOG, filterCatalog } from '../tools/catalog.js';
import { firstLevelTools } from '../loop/first-level-tools.js';
import { checkPolicyFile, type PolicyCheck } from './policy-validate.js';
import { cell, printJson, printLines, printTable } from './output.js';

interface Report {
  config: string | null;
  valid: boolean;
  /** Each with its field path: `server.port: ...`, `policy: rules[0].decison: ...`, `inventory: services.yaml: ...`. */
  problems: string[];
  warnings: string[];
  settings: Array<{ setting: string; value: string; from: SettingOrigin }>;
}

const fromOrigin = (o: SettingOrigin | undefined): SettingOrigin => o ?? 'default';

/** Problems prefixed with where they were found; a non-input error (a bug) is not swallowed. */
function collect<T>(prefix: string, problems: string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    // A loader's own message already names its file; only the bare field issues need the prefix.
    problems.push(...(err.issues.length ? err.issues.map((p) => `${prefix}${p}`) : [err.message]));
    return undefined;
  }
}

/** The inventory dir is only read by `inventory load`: a default ./inventory that is absent is no problem. */
function checkInventory(config: Config, problems: string[], warnings: string[]): Inventory | undefined {
  if (config.origins?.inventory !== 'file' && !existsSync(config.inventoryDir)) return undefined;
  const inv = collect('inventory: ', problems, () => readInventoryDir(config.inventoryDir));
  if (inv) warnings.push(...unreadableHostFiles(inv).map((w) => `inventory: ${w}`));
  return inv;
}

function unreadable(field: string, path: string): string[] {
  try {
    accessSync(path, constants.R_OK);
    return [];
  } catch (err) {
    return [`${field}: ${path}: ${fileProblem(err)}`];
  }
}

function settingsOf(config: Config, policy: PolicyCheck | undefined, inv: Inventory | undefined): Report['settings'] {
  const o = config.origins;
  return [
    { setting: 'config', value: config.source ?? '(none: defaults and environment)', from: fromOrigin(o?.config) },
    { setting: 'dataDir', value: config.dataDir, from: fromOrigin(o?.dataDir) },
    { setting: 'logLevel', value: config.logLevel, from: fromOrigin(o?.logLevel) },
    {
      setting: 'policy', from: fromOrigin(o?.policy),
      value: config.policyPath ? `${config.policyPath}${policy ? ` (${policy.policy.file.rules.length} rules, ${policy.policy.file.limits.length} limits)` : ''}` : '(built-in default)',
    },
    {
      setting: 'inventory', from: fromOrigin(o?.inventory),
      value: `${config.inventoryDir}${inv ? ` (${inv.hosts.length} hosts, ${inv.services.length} services, ${inv.runbooks.length} runbooks)` : existsSync(config.inventoryDir) ? '' : ' (absent)'}`,
    },
    { setting: 'docker', value: config.dockerHost, from: fromOrigin(o?.dockerHost) },
  ];
}

function check(flags: ConfigFlags): Report {
  const problems: string[] = [];
  const warnings: string[] = [];
  const config = collect('', problems, () => loadConfig(flags));
  if (!config) return { config: flags.config ? resolve(flags.config) : null, valid: false, problems, warnings, settings: [] };
  collect('', problems, () => filterCatalog(CATALOG, config.tools));
  collect('', problems, () => firstLevelTools(config.loop.firstLevel?.tools, CATALOG));
  const policy = config.policyPath ? collect('policy: ', problems, () => checkPolicyFile(config.policyPath!)) : undefined;
  if (policy) warnings.push(...policy.warnings.map((w) => `policy: ${w.rule}: ${w.problem}`));
  const inv = checkInventory(config, problems, warnings);
  if (config.server.tls) {
    warnings.push(...unreadable('server.tls.certPath', config.server.tls.certPath), ...unreadable('server.tls.keyPath', config.server.tls.keyPath));
  }
  return { config: config.source ?? null, valid: problems.length === 0, problems, warnings, settings: settingsOf(config, policy, inv) };
}

export function checkConfig(flags: ConfigFlags, opts: { json?: boolean }): void {
  const report = check(flags);
  const name = report.config ?? '(no config file)';
  if (opts.json) printJson(report);
  else if (report.valid) {
    printLines([`ok: ${name}`]);
    printTable(['SETTING', 'VALUE', 'FROM'], report.settings.map((s) => [s.setting, s.value, s.from]), '');
    printLines(report.warnings.map((w) => cell(`warning: ${w}`)));
  }
  if (!report.valid) {
    if (!opts.json) printLines(report.warnings.map((w) => cell(`warning: ${w}`)));
    const n = report.problems.length;
    throw new InputError(`config check ${name}: ${n} problem${n > 1 ? 's' : ''}:\n  ${report.problems.join('\n  ')}`);
  }
}
