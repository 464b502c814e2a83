// Slack interaction requests already taken, so a captured request cannot be sent again within
// Slack's signing window, by this process or after a restart. Keyed by the verified signature: with
// a valid HMAC it stands for exactly one (timestamp, body). Never holds a body or a user.
import type { Db } from './db.js';

export class SlackRequestStore {
  private readonly insert;
  private readonly prune;

  constructor(db: Db) {
    this.insert = db.prepare('INSERT INTO slack_requests (signature, signed_at) VALUES (?, ?) ON CONFLICT (signature) DO NOTHING');
    this.prune = db.prepare('DELETE FROM slack_requests WHERE signed_at < ?');
  }

  /**
   * Records the request; false when its signature was taken before. Rows signed before
   * `forgetBefore` (seconds) go in the same call: their requests are refused by timestamp anyway,
   * so the table holds at most one window's requests. Each statement is whole on its own, so the
   * call may be run again after the write lock was busy.
   */
  take(signature: string, signedAt: number, forgetBefore: number): boolean {
    this.prune.run(forgetBefore);
    return this.insert.run(signature, signedAt).changes === 1;
  }
}
