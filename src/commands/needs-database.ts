// The commands that only act on what a database already holds. Pointed at a data dir without
// warden.db they fail naming the path (exit 1) and create nothing: an empty database would answer
// "no approvals" or "ok: 0 entries" about the wrong directory. cli.ts checks when the action reads
// the config (after its own flags), so commands registered in other files need no code of their
// own. Kept free of imports: `warden --help` loads it.
//
// Not listed: commands that may make the first database (tokens create, silence add, inventory
// load, serve, stdio, and killswitch on/off: engaging it before the first start is how a careful
// operator begins, and they name the data dir they acted on), policy check and lint (they judge the
// policy, and work before warden first ran), `status` and `doctor` (their own read-only opening), and `audit verify`,
// which checks the anchor and a kept checkpoint first: a deleted database with an anchor beside it
// is a broken chain, not merely a wrong directory.
export const NEEDS_DATABASE: ReadonlySet<string> = new Set([
  'audit list',
  'approvals list', 'approvals approve', 'approvals deny',
  // revoke and rotate in the wrong directory would say "no token" and leave the real one valid.
  'tokens list', 'tokens revoke', 'tokens rotate',
  'inventory list',
  'incidents list', 'incidents show', 'incidents validate', 'incidents unvalidate',
  'changes list', 'changes show', 'changes rollback',
  'silence list', 'silence remove',
  'monitors list', 'monitors status',
  'killswitch status',
  'loop status', 'loop arm', 'loop pause',
  // It watches what `warden serve` records there: a fresh database would show nothing ever detected.
  'chaos run',
  'report',
]);
