// Host key pinning: which keys a known_hosts file accepts for one address and port. Pure, so the
// matching rules (ports, hashed names, negation, @revoked) are unit-tested without a server.
import { createHmac } from 'node:crypto';

export interface PinnedKeys {
  /** Base64 key blobs the file accepts for this host. */
  accepted: string[];
  /** Base64 key blobs marked @revoked: refused even if also accepted. */
  revoked: string[];
}

/** How OpenSSH names a host in known_hosts: `addr` on port 22, `[addr]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function globMatches(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/** `|1|salt|hash`: HMAC-SHA1 of the name, keyed by the salt (HashKnownHosts yes). */
function hashedMatches(entry: string, name: string): boolean {
  const [, kind, salt, hash] = entry.split('|');
  if (kind !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    // A matching negated pattern rules the line out whatever else matches.
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** Keys for `address:port` in the text of a known_hosts file; @cert-authority lines are not supported and ignored. */
export function pinnedKeys(knownHosts: string, address: string, port: number): PinnedKeys {
  const name = knownHostsName(address, port);
  const out: PinnedKeys = { accepted: [], revoked: [] };
  for (const raw of knownHosts.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith('@') ? fields.shift() : undefined;
    const [hosts, , key] = fields;
    if (!hosts || !key || !hostFieldMatches(hosts, name)) continue;
    if (marker === '@revoked') out.revoked.push(key);
    else if (marker === undefined) out.accepted.push(key);
  }
  return out;
}

/** Whether a presented host key (its wire blob) is one the file accepts. */
export function isPinned(keys: PinnedKeys, presented: Buffer): boolean {
  const b64 = presented.toString('base64');
  return keys.accepted.includes(b64) && !keys.revoked.includes(b64);
}
