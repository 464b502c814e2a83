// Migration 18 fills stop_intents from an existing audit: only a person's completed, executed stop
// that no completed start, restart or recreate followed survives.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { migrate } from '../../src/store/db.js';

describe('migration 18 backfill', () => {
  it('keeps a person stop not followed by a start, drops one followed, ignores loop/dry/failed', () => {
    const db = new Database(':memory:');
    for (let v = 0; v < 17; v += 1) { db.exec(MIGRATIONS[v]!); db.pragma(`user_version = ${v + 1}`); }
    const ins = db.prepare(`INSERT INTO audit (seq,time,call_id,principal,transport,tool,target,args,args_hash,phase,dry_run,prev_hash,hash)
      VALUES (?,?,?,?,'http',?,?,'{}','',?,?,'','')`);
    let s = 0;
    const row = (p: string, tool: string, target: string, phase: string, dry = 0): void => { s += 1; ins.run(s, `2024-01-01T00:00:${String(s).padStart(2, '0')}.000Z`, `c${s}`, p, tool, target, phase, dry); };
    row('alice', 'stop_container', 'h/a', 'completed');
    row('bob', 'stop_container', 'h/b', 'completed');
    row('bob', 'start_container', 'h/b', 'completed');
    row('loop', 'stop_container', 'h/c', 'completed');
    row('alice', 'stop_container', 'h/d', 'completed', 1);
    row('alice', 'stop_container', 'h/e', 'failed');
    migrate(db);
    expect(db.prepare('SELECT target, principal FROM stop_intents ORDER BY target').all()).toEqual([{ target: 'h/a', principal: 'alice' }]);
  });
});
