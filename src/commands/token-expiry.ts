// Tokens that end soon, as one check for `warden status` and `warden doctor`: a warning naming
// each and the command that replaces it, never a failure (an expired token is the holder's 401).
import type { Db } from '../store/db.js';
import { EXPIRY_WARNING_MS, TokenStore, expiryWarning } from '../store/tokens.js';
import { ok, warn, type HealthCheck } from './health-report.js';

export function tokenExpiryCheck(db: Db, now: Date): HealthCheck {
  const ending = new TokenStore(db).expiringWithin(EXPIRY_WARNING_MS, now);
  if (ending.length === 0) return ok('tokens', `none expires within ${EXPIRY_WARNING_MS / 86_400_000} days`);
  return warn('tokens', ending.map((t) => expiryWarning(t, now)).join('; '));
}
