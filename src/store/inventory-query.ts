// query_inventory's engine: one SELECT on a separate read-only connection, which may read the
// inventory tables and incidents and nothing else. It must never let a statement reach audit,
// approvals or tokens, write anything, attach a file or load an extension.
//
// better-sqlite3 exposes no authorizer, so the statement's compiled program decides: EXPLAIN
// lists every b-tree it opens (OpenRead/ReopenIdx name a root page, which sqlite_master maps to a
// table) and every virtual table (VOpen); anything not on the allow-list refuses the statement.
// Text checks (SELECT/WITH first, one statement, stmt.reader) are a second, independent layer.
import Database from 'better-sqlite3';
import { ToolFailure, errorMessage } from '../errors.js';
import type { QueryResult } from './readers.js';

export const QUERYABLE_TABLES: readonly string[] = ['hosts', 'services', 'runbooks', 'discovered_containers', 'incidents'];

/**
 * Table-valued functions a query may use, each identified by the vtab its VOpen opens on this
 * connection: eponymous vtabs are created once per connection, so the pointer is their identity.
 * pragma_* functions, dbstat and FTS tables have other pointers and are refused.
 */
const ALLOWED_TABLE_FUNCTIONS = ["json_each('[]')", "json_tree('[]')"];
const DENIED_FUNCTIONS = new Set(['load_extension']);
const MAX_CELL_CHARS = 2_000;

export interface QueryCaps {
  maxRows: number;
  timeoutMs: number;
}

interface Op {
  opcode: string;
  p2: number;
  p3: number;
  p4: string | null;
}

type Cell = string | number | null;

const refuse = (why: string): ToolFailure => new ToolFailure('invalid_input', `query refused: ${why}`);

/** The first keyword after leading whitespace and comments, upper-cased. */
export function leadingKeyword(sql: string): string {
  let rest = sql;
  for (;;) {
    const skipped = rest.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)/, '');
    if (skipped === rest) break;
    rest = skipped;
  }
  return (/^[A-Za-z]+/.exec(rest)?.[0] ?? '').toUpperCase();
}

function cell(value: unknown): Cell {
  if (value === null || typeof value === 'number' || typeof value === 'string') {
    return typeof value === 'string' && value.length > MAX_CELL_CHARS ? `${value.slice(0, MAX_CELL_CHARS)}…` : value;
  }
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value)) return `<blob ${value.length} bytes>`;
  return String(value);
}

export class ReadOnlyQuery {
  private conn: Database.Database | undefined;

  constructor(private readonly path: string) {}

  run(sql: string, params: readonly (string | number | null)[], caps: QueryCaps): QueryResult {
    const keyword = leadingKeyword(sql);
    if (keyword !== 'SELECT' && keyword !== 'WITH') throw refuse(`only SELECT or WITH ... SELECT statements may run, not ${keyword || 'this'}`);
    const conn = this.connection();
    let stmt: Database.Statement;
    try {
      stmt = conn.prepare(sql);
    } catch (err) {
      const msg = errorMessage(err);
      if (/more than one statement/.test(msg)) throw refuse('one statement only (remove everything after the first ";")');
      throw new ToolFailure('invalid_input', `SQL error: ${msg}`);
    }
    if (!stmt.reader) throw refuse('the statement does not return rows (WITH ... must end in SELECT)');
    // One read transaction: the schema, the check and the rows all see the same snapshot.
    return conn.transaction(() => {
      this.check(conn, sql, params);
      return this.collect(stmt, params, caps);
    })();
  }

  close(): void {
    this.conn?.close();
    this.conn = undefined;
  }

  private connection(): Database.Database {
    if (!this.conn) {
      try {
        this.conn = new Database(this.path, { readonly: true, fileMustExist: true, timeout: 2_000 });
        this.conn.pragma('query_only = ON');
      } catch (err) {
        throw new ToolFailure('unavailable', 'the inventory database cannot be opened read-only; retry later', {}, err);
      }
    }
    return this.conn;
  }

  /** The compiled program; binding the caller's parameters is what lets it compile at all. */
  private explain(conn: Database.Database, sql: string, params: readonly (string | number | null)[] = []): Op[] {
    try {
      return conn.prepare(`EXPLAIN ${sql}`).all(...params) as Op[];
    } catch (err) {
      throw new ToolFailure('invalid_input', `SQL error: ${errorMessage(err)}`);
    }
  }

  private check(conn: Database.Database, sql: string, params: readonly (string | number | null)[]): void {
    const tableAt = new Map(
      (conn.prepare("SELECT rootpage, tbl_name FROM sqlite_master WHERE type IN ('table', 'index') AND rootpage > 0").raw().all() as [number, string][]),
    );
    const allowedVtabs = new Set(ALLOWED_TABLE_FUNCTIONS.map((f) => this.explain(conn, `SELECT * FROM ${f}`).find((op) => op.opcode === 'VOpen')?.p4));
    const allowed = `it may read only ${QUERYABLE_TABLES.join(', ')}`;
    for (const op of this.explain(conn, sql, params)) {
      if (op.opcode === 'OpenRead' || op.opcode === 'ReopenIdx') {
        // p3 is the database: 0 is main; temp (1) and attached files are never queryable.
        const table = op.p3 === 0 ? tableAt.get(op.p2) : undefined;
        if (table === undefined || !QUERYABLE_TABLES.includes(table)) throw refuse(`the statement reads ${table === undefined ? 'the schema or another database' : `"${table}"`}; ${allowed}`);
      } else if (op.opcode === 'OpenWrite') {
        throw refuse('the statement writes');
      } else if (op.opcode === 'VOpen') {
        if (op.p4 === null || !allowedVtabs.has(op.p4)) throw refuse(`virtual tables and pragma functions are not available (json_each and json_tree are); ${allowed}`);
      } else if (op.opcode === 'Function' || op.opcode === 'PureFunc') {
        const name = /^([A-Za-z_0-9]+)\(/.exec(op.p4 ?? '')?.[1];
        if (name !== undefined && DENIED_FUNCTIONS.has(name.toLowerCase())) throw refuse(`${name}() is not available`);
      }
    }
  }

  /** A single slow step (one huge sort or join) cannot be interrupted: the time cap is checked between rows. */
  private collect(stmt: Database.Statement, params: readonly (string | number | null)[], caps: QueryCaps): QueryResult {
    const columns = stmt.columns().map((c) => c.name);
    const rows: Cell[][] = [];
    const deadline = performance.now() + caps.timeoutMs;
    let truncatedBy: 'rows' | 'time' | undefined;
    try {
      for (const row of stmt.raw(true).iterate(...params) as Iterable<unknown[]>) {
        if (rows.length >= caps.maxRows) { truncatedBy = 'rows'; break; }
        if (performance.now() > deadline) { truncatedBy = 'time'; break; }
        rows.push(row.map(cell));
      }
    } catch (err) {
      throw new ToolFailure('invalid_input', `SQL error: ${errorMessage(err)}`);
    }
    return { columns, rows, truncated: truncatedBy !== undefined, truncatedBy };
  }
}
