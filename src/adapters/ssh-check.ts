// One host's SSH login checked the way ssh.ts uses it, for `warden doctor`: the key file is a
// readable private key, its known_hosts file pins a key for address:port, and a login with them
// succeeds within the timeout. It opens no channel: nothing runs on the host.
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { SshSpec } from './hosts.js';
import { knownHostsName, pinnedKeys } from './known-hosts.js';
import { SshPool } from './ssh.js';

export interface LoginCheck {
  level: 'ok' | 'warn' | 'fail';
  detail: string;
}

/** The file's text, or why it cannot be read, in words. */
async function readText(path: string, what: string): Promise<{ text: string } | { why: string }> {
  try {
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? errorMessage(err)})`;
    return { why: `${what} ${path} ${why}` };
  }
}

/** Why `text` is not a private key ssh2 can log in with, or undefined when it is one. */
function notAPrivateKey(text: string): string | undefined {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) return parsed.message;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) return 'it holds no key';
  return key.isPrivateKey() ? undefined : 'it holds a public key, not a private key';
}

/** The files only: what can be said without a connection. */
async function checkFiles(spec: SshSpec): Promise<LoginCheck> {
  const key = await readText(spec.keyPath, 'key file');
  if ('why' in key) return { level: 'fail', detail: key.why };
  const bad = notAPrivateKey(key.text);
  if (bad) return { level: 'fail', detail: `key file ${spec.keyPath} is not a usable private key: ${bad}` };
  const name = knownHostsName(spec.address, spec.port);
  if (!spec.knownHostsPath) return { level: 'warn', detail: `host key not pinned (no knownHostsPath): any key is accepted for ${name}` };
  const known = await readText(spec.knownHostsPath, 'known_hosts file');
  if ('why' in known) return { level: 'fail', detail: known.why };
  const pinned = pinnedKeys(known.text, spec.address, spec.port);
  if (pinned.accepted.length === 0) return { level: 'fail', detail: `known_hosts file ${spec.knownHostsPath} pins no key for ${name}: warden refuses to connect` };
  return { level: 'ok', detail: `host key pinned (${pinned.accepted.length} in ${spec.knownHostsPath})` };
}

/**
 * Checks the files, then (unless `connect` is false, or they already failed) logs in once through
 * the same pool code the tools use, so an auth failure or a host key mismatch is named as they see it.
 */
export async function checkSshLogin(host: string, spec: SshSpec, opts: { timeoutMs: number; log: Logger; connect?: boolean }): Promise<LoginCheck> {
  const files = await checkFiles(spec);
  if (files.level === 'fail' || opts.connect === false) return files;
  const pool = new SshPool(opts.log);
  const who = `${spec.user}@${knownHostsName(spec.address, spec.port)}`;
  try {
    await pool.connection(host, { ...spec, connectTimeoutMs: opts.timeoutMs });
    return { level: files.level, detail: `${who} logged in; ${files.detail}` };
  } catch (err) {
    return { level: 'fail', detail: errorMessage(err) };
  } finally {
    await pool.close();
  }
}
