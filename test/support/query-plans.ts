// Records every statement a request runs on the gateway's database connection, with its bound
// values, and explains each: which plan SQLite used, so a page that walks a whole table shows it.
// Nothing is mocked: the gateway's own connection prepares and runs every statement as it would.
import type { Runtime } from '../../src/server/runtime.js';

export interface Ran { sql: string; args: unknown[]; plan: string[] }

type Prep = (sql: string) => { all: (...a: unknown[]) => unknown; get: (...a: unknown[]) => unknown; iterate: (...a: unknown[]) => unknown; run: (...a: unknown[]) => unknown };

export interface StatementRecorder {
  ran: Ran[];
  matching(re: RegExp): Ran[];
  stop(): void;
}

/**
 * Wraps rt.db.prepare (the instance, not the module) so statements prepared from now on report
 * their reads. A statement a store cached before this started is not seen: start it before the
 * first request that prepares the statements of interest.
 */
export function recordStatements(rt: Runtime): StatementRecorder {
  const db = rt.db as unknown as { prepare: Prep };
  const original = db.prepare;
  const ran: Ran[] = [];
  const explain = (sql: string, args: unknown[]): string[] => {
    try {
      const rows = original.call(db, `EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>;
      return rows.map((r) => r.detail);
    } catch (err) {
      return [`(could not explain: ${String(err)})`];
    }
  };
  db.prepare = function prepare(this: unknown, sql: string) {
    const stmt = original.call(db, sql);
    if (/^\s*(EXPLAIN|PRAGMA)/i.test(sql)) return stmt;
    for (const m of ['all', 'get', 'iterate'] as const) {
      const fn = stmt[m].bind(stmt);
      (stmt as Record<string, unknown>)[m] = (...args: unknown[]) => {
        ran.push({ sql, args, plan: explain(sql, args) });
        return fn(...args);
      };
    }
    return stmt;
  } as Prep;
  return {
    ran,
    matching: (re) => ran.filter((r) => re.test(r.sql)),
    stop: () => { db.prepare = original; },
  };
}

/**
 * A plan that reads the whole table: a scan without an index, or any order the planner sorts for
 * itself (a temp b-tree over everything that matched). An index walked in the statement's order
 * (`SCAN t USING INDEX i`) stops at the LIMIT, so it is not one; whether it walks the right index
 * is for the caller to check (a filter the index does not cover still walks it to the end).
 */
export function readsWholeTable(plan: readonly string[]): boolean {
  return plan.some((l) => /^SCAN \w+$/.test(l) || /TEMP B-TREE FOR ORDER BY/.test(l));
}

/** Whitespace folded, for messages. */
export const plainSql = (sql: string): string => sql.replace(/\s+/g, ' ').trim();
