// Which data dir a command uses and how it was chosen, for the messages that must tell a person
// pointed at the wrong one how to point elsewhere. It only looks: it never creates a directory or file.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { CommandError } from '../errors.js';
import { dbPath } from '../store/db.js';

/** How the data dir was chosen, in the words a person would use to change it. */
export function dataDirOrigin(config: Config): string {
  switch (config.origins?.dataDir) {
    case 'flag': return 'set by --data-dir';
    case 'env': return 'set by WARDEN_DATA_DIR';
    case 'file': return `set by dataDir in ${config.source ?? 'the config file'}`;
    case 'default': return 'the default when nothing sets one: $XDG_DATA_HOME/warden, else ~/.local/share/warden';
    default: return 'from --data-dir, WARDEN_DATA_DIR, dataDir in the config file, or the default';
  }
}

/**
 * For a command that only acts on what a database already holds (lists, show, approve): without
 * one it fails naming the path, rather than creating an empty database and answering "nothing".
 */
export function requireDatabase(config: Config): void {
  if (existsSync(dbPath(config.dataDir))) return;
  throw new CommandError(missingDatabase(config));
}

export function missingDatabase(config: Config): string {
  return `no database at ${dbPath(config.dataDir)}: warden has not run with the data dir ${config.dataDir} (${dataDirOrigin(config)}). ` +
    'Point at the one warden uses with --data-dir DIR, WARDEN_DATA_DIR or dataDir in the config file';
}

/**
 * warden's old default was ./data: a database there is most likely the one this user has been
 * using, and the new default would quietly start an empty one beside it.
 */
export function oldDefaultWarning(config: Config, cwd: string): string | undefined {
  if (config.origins?.dataDir !== 'default') return;
  const old = resolve(cwd, 'data');
  if (old === config.dataDir || !existsSync(dbPath(old))) return;
  return `warning: using the default data dir ${config.dataDir}; ${dbPath(old)} (the old default, ./data) is not read. ` +
    `To keep using it, pass --data-dir ${old}, set WARDEN_DATA_DIR=${old} or dataDir: ${old} in the config file, or move it to ${config.dataDir}\n`;
}
