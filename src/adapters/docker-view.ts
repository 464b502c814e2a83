// Docker's inspect document, trimmed to what a tool may show. Environment values are dropped here,
// so they never leave the adapter; probe output, labels and arguments are redacted and cut here too.
import type Docker from 'dockerode';
import { REDACTED, isSecretKey, redactText, redactValue } from '../shared/redact.js';
import { bareName } from '../shared/containers.js';

/** Last health probes kept; Docker itself keeps five. */
const HEALTH_PROBES = 5;
const PROBE_OUTPUT_CHARS = 300;
/** Env names, labels, mounts and argv entries each stop at this many. */
export const MAX_ITEMS = 100;
export const MAX_VALUE_CHARS = 300;

export interface HealthProbe {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface ContainerLimits {
  /** null: no limit (Docker says 0, -1 or nothing). */
  memoryBytes: number | null;
  memoryReservationBytes: number | null;
  nanoCpus: number | null;
  cpuShares: number | null;
  cpuQuota: number | null;
  cpuPeriod: number | null;
  pidsLimit: number | null;
}

export interface ContainerDetails {
  id: string;
  name: string;
  createdAt: string;
  image: string;
  imageId: string;
  status: string;
  running: boolean;
  restarting: boolean;
  oomKilled: boolean;
  exitCode: number;
  error: string;
  startedAt: string | null;
  finishedAt: string | null;
  restartPolicy: { name: string; maximumRetryCount: number };
  restartCount: number;
  health: { status: string; failingStreak: number; log: HealthProbe[] } | null;
  entrypoint: string[];
  command: string[];
  tty: boolean;
  limits: ContainerLimits;
  labels: Record<string, string>;
  mounts: Array<{ type: string; source: string; destination: string; rw: boolean }>;
  networkMode: string;
  /** Names only: the values never leave the adapter. */
  envNames: string[];
  /** HostConfig.LogConfig.Type: json-file, local, journald, none, ...; '' when Docker does not say. */
  logDriver: string;
  /** LogPath: the json-file driver's file on the Docker host; '' for drivers that keep none. Not cut: a tool checks it whole. */
  logPath: string;
}

const cut = (s: string, max = MAX_VALUE_CHARS): string => (s.length <= max ? s : `${s.slice(0, max)}…`);

/** Docker writes the zero time for "never"; a model should read null, not year 1. */
const timeOrNull = (t: string | undefined): string | null => (!t || t.startsWith('0001-01-01') ? null : t);

const limit = (n: number | null | undefined): number | null => (n === undefined || n === null || n <= 0 ? null : n);

function asArgv(v: string | string[] | null | undefined): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** `--password hunter2` hides its value in the next argument, where no pattern can see it. */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.slice(0, MAX_ITEMS).map((arg, i) => {
    const prev = i > 0 ? argv[i - 1]! : '';
    if (/^--?[A-Za-z0-9_.-]+$/.test(prev) && isSecretKey(prev)) return REDACTED;
    return cut(redactText(arg));
  });
}

function labelsOf(raw: Record<string, string> | null | undefined): Record<string, string> {
  const entries = Object.entries(redactValue(raw ?? {})).slice(0, MAX_ITEMS);
  return Object.fromEntries(entries.map(([k, v]) => [cut(k), cut(String(v))]));
}

function healthOf(h: Docker.ContainerInspectInfo['State']['Health']): ContainerDetails['health'] {
  if (!h) return null;
  const log = (h.Log ?? []).slice(-HEALTH_PROBES).map((p) => ({
    start: p.Start,
    end: p.End,
    exitCode: p.ExitCode,
    output: cut(redactText((p.Output ?? '').trim()), PROBE_OUTPUT_CHARS),
  }));
  return { status: h.Status, failingStreak: h.FailingStreak, log };
}

export function toContainerDetails(d: Docker.ContainerInspectInfo): ContainerDetails {
  const hc = d.HostConfig ?? {};
  const cfg = d.Config;
  return {
    id: d.Id.slice(0, 12),
    name: bareName(d.Name),
    createdAt: d.Created,
    image: cfg.Image,
    imageId: d.Image,
    status: d.State.Status,
    running: d.State.Running,
    restarting: d.State.Restarting,
    oomKilled: d.State.OOMKilled,
    exitCode: d.State.ExitCode,
    error: cut(redactText(d.State.Error ?? '')),
    startedAt: timeOrNull(d.State.StartedAt),
    finishedAt: timeOrNull(d.State.FinishedAt),
    restartPolicy: { name: hc.RestartPolicy?.Name || 'no', maximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0 },
    restartCount: d.RestartCount,
    health: healthOf(d.State.Health),
    entrypoint: redactArgv(asArgv(cfg.Entrypoint)),
    command: redactArgv(asArgv(cfg.Cmd)),
    tty: cfg.Tty,
    limits: {
      memoryBytes: limit(hc.Memory),
      memoryReservationBytes: limit(hc.MemoryReservation),
      nanoCpus: limit(hc.NanoCpus),
      cpuShares: limit(hc.CpuShares),
      cpuQuota: limit(hc.CpuQuota),
      cpuPeriod: limit(hc.CpuPeriod),
      pidsLimit: limit(hc.PidsLimit),
    },
    labels: labelsOf(cfg.Labels),
    mounts: (d.Mounts ?? []).slice(0, MAX_ITEMS).map((m) => ({ type: m.Type, source: cut(m.Source), destination: cut(m.Destination), rw: m.RW })),
    networkMode: hc.NetworkMode ?? '',
    envNames: (cfg.Env ?? []).slice(0, MAX_ITEMS).map((e) => cut(e.split('=', 1)[0]!, 128)),
    logDriver: hc.LogConfig?.Type ?? '',
    logPath: d.LogPath ?? '',
  };
}
