// Moved to server/recorded-health.ts, where the console's Health page reads the same checks
// (the server may not import commands); kept so `warden status`, `warden doctor` and their tests
// import it where they always did.
export * from '../server/recorded-health.js';
