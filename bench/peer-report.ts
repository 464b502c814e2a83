// The figures bench/peers.ts reports, their targets for warden against docker-mcp, and the table
// and JSON it prints them as. Ratios are warden / peer: below 1 means warden is smaller or faster,
// except for calls per second, where above 1 is better.
import type { ServerName } from './peer-servers.js';

export type FigureKey =
  | 'listP50Ms' | 'listPerSecond' | 'inspectP50Ms' | 'logsP50Ms'
  | 'toolsListChars' | 'listChars' | 'inspectChars' | 'logsChars'
  | 'startMs' | 'idleRssMiB' | 'helpMs';

interface FigureDef {
  key: FigureKey;
  label: string;
  digits: number;
  /** On warden / docker-mcp, or on warden's own figure where absolute. */
  target?: { op: '<=' | '>=' | '<'; value: number; absolute?: 'ms' };
}

export function figureDefs(concurrency: string): FigureDef[] {
  return [
    { key: 'listP50Ms', label: 'list p50, 1 client (ms)', digits: 1, target: { op: '<=', value: 1.0 } },
    { key: 'listPerSecond', label: `list calls/s, ${concurrency}`, digits: 0, target: { op: '>=', value: 1.0 } },
    { key: 'inspectP50Ms', label: 'inspect p50 (ms)', digits: 1, target: { op: '<=', value: 1.2 } },
    { key: 'logsP50Ms', label: 'logs tail=100 p50 (ms)', digits: 1, target: { op: '<=', value: 1.2 } },
    { key: 'toolsListChars', label: 'tools/list chars', digits: 0 },
    { key: 'listChars', label: 'list output chars', digits: 0, target: { op: '<=', value: 0.5 } },
    { key: 'inspectChars', label: 'inspect output chars', digits: 0 },
    { key: 'logsChars', label: 'logs tail=100 output chars', digits: 0, target: { op: '<=', value: 1.0 } },
    { key: 'startMs', label: 'spawn -> tools/list (ms)', digits: 0, target: { op: '<=', value: 1.1 } },
    { key: 'idleRssMiB', label: 'idle RSS after it (MiB)', digits: 1, target: { op: '<=', value: 1.1 } },
    { key: 'helpMs', label: '--help wall time (ms)', digits: 0, target: { op: '<', value: 300, absolute: 'ms' } },
  ];
}

export type Figures = Partial<Record<FigureKey, number>>;

export interface Report {
  date: string;
  node: string;
  cores: number;
  loadStart: number[];
  loadEnd: number[];
  rounds: number;
  calls: number;
  concurrency: string;
  peers: Record<string, string>;
  picked: Partial<Record<ServerName, unknown>>;
  figures: Partial<Record<ServerName, Figures>>;
  /** Each round's figures, per server, in round order. */
  perRound: Partial<Record<ServerName, Figures[]>>;
  errors: Partial<Record<ServerName, { errors: number; firstError?: string; failedRounds: string[] }>>;
}

const fmt = (v: number | undefined, digits: number): string =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? undefined : a / b;
}

function verdict(def: FigureDef, warden: number | undefined, r: number | undefined): string {
  const t = def.target;
  if (!t) return '';
  const v = t.absolute ? warden : r;
  const shown = `${t.op} ${t.absolute ? `${t.value} ${t.absolute}` : `${t.value.toFixed(1)}x`}`;
  if (v === undefined) return `${shown}  ?`;
  const met = t.op === '<=' ? v <= t.value : t.op === '>=' ? v >= t.value : v < t.value;
  return `${shown}  ${met ? 'met' : 'NOT met'}`;
}

/** The table: figure | warden | docker-mcp | podman-mcp-server | warden/docker-mcp | warden/podman | target. */
export function printTable(report: Report): void {
  const header = ['figure', 'warden', 'docker-mcp', 'podman-mcp-server', 'warden/docker-mcp', 'warden/podman', 'target (warden/docker-mcp)'];
  const rows = figureDefs(report.concurrency).map((def) => {
    const w = report.figures.warden?.[def.key];
    const d = report.figures['docker-mcp']?.[def.key];
    const p = report.figures['podman-mcp-server']?.[def.key];
    const rd = ratio(w, d);
    const rp = ratio(w, p);
    return [def.label, fmt(w, def.digits), fmt(d, def.digits), fmt(p, def.digits), rd === undefined ? '-' : `${rd.toFixed(2)}x`, rp === undefined ? '-' : `${rp.toFixed(2)}x`, verdict(def, w, rd)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 || i === 6 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
