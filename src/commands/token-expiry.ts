// Tokens that end soon, as one check for `warden status` and `warden doctor`; it lives with the other
// recorded checks in server/recorded-health.ts, which the console's Health page reads too.
export { tokenExpiryCheck } from '../server/recorded-health.js';
