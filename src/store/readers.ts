// Read-only views of the store that tools may use through ToolContext. Tools never write to
// the store and never see the database handle itself.
import type { CleanupPlace, HostMonitorSettings, RebootSettings, ServiceMonitorSettings } from './monitor-schema.js';

export interface ServiceRecord {
  name: string;
  host: string;
  container: string | null;
  owner: string | null;
  tier: string | null;
  labels: Record<string, string>;
  dependsOn: string[];
  healthCheck: unknown;
  notes: string | null;
  runbooks: string[];
  /** Where this service's nginx config lives, when it is (or fronts) an nginx. */
  nginx: NginxRecord | null;
  /** Upper bounds for update_container_resources; without them one call may raise a limit at most 4 times. */
  resources: { maxMemory?: string; maxCpus?: number; maxPids?: number } | null;
  /** warden probes the health check on this schedule; null or absent: not monitored. */
  monitor?: ServiceMonitorSettings | null;
}

export interface NginxRecord {
  confPath: string;
  prefix?: string;
  container?: string;
  /** Further config files a change may touch; confPath is always one. Absent in rows loaded before they existed. */
  files?: string[];
  upstream?: string;
  /** The only host:port values the service's proxy may be pointed at, when given. */
  backends?: string[];
  errorLog?: string;
}

export interface HostRecord {
  name: string;
  address: string | null;
  /** The endpoint as written: unix:///..., tcp://..., ssh or ssh:///... */
  docker: string | null;
  ssh: { address: string | null; port: number; user: string } | null;
  labels: Record<string, string>;
  notes: string | null;
  /** Thresholds warden checks on this host; null or absent: none. */
  monitor?: HostMonitorSettings | null;
  /** The only places clean_disk may delete in; absent: none. */
  cleanup?: CleanupPlace[];
  /** How reboot_host reboots it; null or absent: it may not. */
  reboot?: RebootSettings | null;
}

export interface RunbookRecord {
  name: string;
  description: string;
  /** Host names or globs. */
  hosts: string[];
  /** The command; `{param}` tokens are filled from validated parameters. */
  argv: string[];
  params: Record<string, { pattern: string; description: string }>;
  risk: 'read' | 'low' | 'medium' | 'high';
  timeoutSeconds: number;
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
  /** Which cap cut the rows short, when truncated. */
  truncatedBy?: 'rows' | 'time';
}

export interface InventoryReader {
  /** One read-only statement with bound parameters, capped in rows and time. */
  query(sql: string, params: readonly (string | number | null)[], caps: { maxRows: number; timeoutMs: number }): Promise<QueryResult>;
  service(name: string): ServiceRecord | undefined;
  /** The service running as this container on this host, if the inventory knows it. */
  serviceAt(host: string, container: string): ServiceRecord | undefined;
  /**
   * Whether nginx may be pointed at this confPath or prefix on this host (inside this container, or
   * on the host itself): a service declares it for that very place in its `nginx` entry, or it
   * lies in a directory config `nginx.allowedDirs` allows.
   */
  nginxPathAllowed(host: string, kind: 'confPath' | 'prefix', path: string, container?: string): boolean;
  /** The service an incident or alert names: by its name first, else by where it runs. */
  serviceFor(where: { service?: string | null; host?: string | null; container?: string | null }): ServiceRecord | undefined;
  services(): ServiceRecord[];
  hosts(): HostRecord[];
  runbooks(): RunbookRecord[];
  runbook(name: string): RunbookRecord | undefined;
}

export interface IncidentSummary {
  id: string;
  openedAt: string;
  closedAt: string | null;
  status: string;
  target: string | null;
  title: string;
  resolution: string | null;
  /** A person confirmed the resolution: boosted in search, with who, when and their (untrusted) note. */
  validated: boolean;
  validation?: { by: string; at: string; note: string };
}

export interface IncidentReader {
  /** Full-text search over past incidents by relevance, validated fixes boosted (no words: the newest). */
  search(text: string, limit: number): IncidentSummary[];
}
