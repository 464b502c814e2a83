// What kind of side effect a tool has, declared on its spec. Policy limits select tools by it, so
// a new restart-like tool is covered by the restart breaker without an edit to the default policy.

export const EFFECTS = [
  'restart', // brings a container (back) up: restart, start, recreate
  'stop', // takes something down on purpose
  'reload', // makes a running service re-read its configuration
  'reset', // resets hardware (a GPU)
  'remove', // deletes things (prune)
  'exec', // runs a vetted command on a host (runbooks)
  'config', // changes configuration, as a transaction that rolls back by itself (nginx upstream, container limits)
  'rollback', // puts a recorded change's before state back
  'reboot', // reboots a whole host: every container and process on it goes down with it
] as const;
export type Effect = (typeof EFFECTS)[number];
