// What the inventory may say about warden's own monitoring: a service's probe schedule, a host's
// thresholds (fire and clear levels, a "for" duration, a cooldown), where clean_disk may delete and
// how reboot_host reboots. Strict, with defaults from the write-ups; a typo fails the load.
import { z } from 'zod';
import { parseDurationMs } from '../shared/durations.js';

/** "10s", "5m", "1h30m" or a number of seconds; parsed to milliseconds. */
const Duration = (min: string, max: string) => {
  const minMs = parseDurationMs(min, { seconds: true })!;
  const maxMs = parseDurationMs(max, { seconds: true })!;
  return z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? Math.round(v * 1000) : parseDurationMs(v, { seconds: true });
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as "30s", "5m" or "1h30m", got "${String(v)}"` });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration from ${min} to ${max}, got "${String(v)}"` });
      return z.NEVER;
    }
    return ms;
  });
};

export const ServiceMonitorSettings = z
  .strictObject({
    interval: Duration('1s', '1d').default(30_000).describe('how often the health check is probed (default 30s)'),
    timeout: Duration('1s', '5m').default(5_000).describe('how long one probe may take (default 5s); at most the interval'),
    retries: z.number().int().min(1).max(100).default(3).describe('failed probes in a row before the service is down (default 3)'),
    cooldown: Duration('0s', '1d').default(0).describe('after a recovery, how long before it may go down again (default 0: the loop\'s flap limit counts re-openings)'),
    tlsExpiryDays: z.number().int().min(1).max(365).default(14).describe('https: warn when the certificate expires within this many days (default 14)'),
    ignoreTlsErrors: z.boolean().default(false).describe('https: accept a certificate that does not verify (self-signed); expiry is still read'),
    from: z.enum(['warden', 'host']).default('warden').describe("where the probe starts: warden's machine (default), or the service's host through its SSH connection (what listens on that host's loopback)"),
  })
  .refine((m) => m.timeout <= m.interval, { path: ['timeout'], message: 'the timeout must not be longer than the interval' });
export type ServiceMonitorSettings = z.infer<typeof ServiceMonitorSettings>;

export const SERVICE_MONITOR_DEFAULTS: ServiceMonitorSettings = ServiceMonitorSettings.parse({});

/** `monitor: true` is every default. (Not a union: a union's error would hide which field is wrong.) */
export const ServiceMonitor = z.preprocess((m) => (m === true ? {} : m), ServiceMonitorSettings);

const Level = (max: number) => z.number().min(0).max(max);

function levels(unitMax: number, defaults: { fire: number; clear: number; forMs: number }) {
  return {
    fire: Level(unitMax).default(defaults.fire).describe('at or above this level it fires'),
    clear: Level(unitMax).default(defaults.clear).describe('below this level a firing one clears (hysteresis)'),
    for: Duration('0s', '1d').default(defaults.forMs).describe('how long it must stay at or above `fire` before it fires'),
    severity: z.enum(['warning', 'critical']).default('warning'),
  };
}

const clearBelowFire: [(t: { fire: number; clear: number }) => boolean, { path: string[]; message: string }] = [
  (t) => t.clear < t.fire, { path: ['clear'], message: 'clear must be below fire, or it would fire and clear at the same level' },
];

function threshold(unitMax: number, defaults: { fire: number; clear: number; forMs: number }) {
  return z.strictObject(levels(unitMax, defaults)).refine(...clearBelowFire);
}

/** Each check: absent -> the default levels; false -> off (read back as null); an object -> these levels. */
function check<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === false ? null : v), schema.nullable().optional());
}

const MountPath = z.string().regex(/^\/\S*$/, 'an absolute path').refine((p) => !p.split('/').includes('..'), 'no ".." segments');

export const THRESHOLD_DEFAULTS = {
  cpu: { fire: 90, clear: 80, forMs: 5 * 60_000 },
  memory: { fire: 90, clear: 85, forMs: 5 * 60_000 },
  disk: { fire: 90, clear: 85, forMs: 0 },
  temperature: { fire: 85, clear: 80, forMs: 60_000 },
  gpuUtilization: { fire: 95, clear: 90, forMs: 10 * 60_000 },
  gpuTemperature: { fire: 85, clear: 80, forMs: 60_000 },
  gpuMemory: { fire: 95, clear: 90, forMs: 5 * 60_000 },
} as const;

const Percent = (name: keyof typeof THRESHOLD_DEFAULTS) => threshold(100, THRESHOLD_DEFAULTS[name]);
const DiskThreshold = z.strictObject({
  ...levels(100, THRESHOLD_DEFAULTS.disk),
  mounts: z.array(MountPath).min(1).max(32).default(['/']).describe('paths whose filesystems are watched (default /)'),
}).refine(...clearBelowFire);
const Celsius = (name: keyof typeof THRESHOLD_DEFAULTS) => threshold(150, THRESHOLD_DEFAULTS[name]);

export const HostMonitorSettings = z.strictObject({
  interval: Duration('1s', '1d').default(30_000).describe('how often the host is read (default 30s)'),
  cooldown: Duration('0s', '1d').default(10 * 60_000).describe('after a check clears, how long before it may fire again (default 10m)'),
  cpu: check(Percent('cpu')).describe('CPU busy % of all cores (default 90, clear 80, for 5m)'),
  memory: check(Percent('memory')).describe('memory used % (total minus available; default 90, clear 85, for 5m)'),
  disk: check(DiskThreshold).describe('used % of each filesystem holding one of `mounts` (default 90, clear 85)'),
  temperature: check(Celsius('temperature')).describe('the hottest sensor, °C (default 85, clear 80, for 1m)'),
  gpuUtilization: check(Percent('gpuUtilization')).describe('each GPU\'s utilisation % (default 95, clear 90, for 10m)'),
  gpuTemperature: check(Celsius('gpuTemperature')).describe('each GPU\'s temperature °C (default 85, clear 80, for 1m)'),
  gpuMemory: check(Percent('gpuMemory')).describe('each GPU\'s memory used % (default 95, clear 90, for 5m)'),
});
export type HostMonitorSettings = z.infer<typeof HostMonitorSettings>;

export const HostMonitor = z.preprocess((m) => (m === true ? {} : m), HostMonitorSettings);

/**
 * Where deleting old files breaks a machine or its data: never a cleanup place, nor anything below
 * (the system, package and database state under /var/lib, Docker's own store). Checked on the
 * normalised path, so `/etc/.` or `/./etc` is /etc.
 */
const PROTECTED_TREES = ['/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/libx32', '/proc', '/run', '/sbin', '/sys', '/usr', '/var/lib', '/snap'];
/** Parents of everyone's data: a place may lie below them (/var/log/myapp, /srv/app/cache), never be one. */
const PROTECTED_ROOTS = new Set(['/', '/var', '/var/log', '/var/cache', '/var/spool', '/var/tmp', '/home', '/root', '/srv', '/opt', '/tmp', '/mnt', '/media', '/data']);

/** Why `path` (normalised) may not be a cleanup place, or undefined when it may. */
export function protectedPlace(path: string): string | undefined {
  if (PROTECTED_ROOTS.has(path)) return `${path} holds everyone's files: name the application's own directory below it`;
  const tree = PROTECTED_TREES.find((t) => path === t || path.startsWith(`${t}/`));
  return tree ? `${path} is in ${tree}, which holds the system's own files or data (packages, databases, Docker's store): never a cleanup place` : undefined;
}

export const CleanupPlace = z.strictObject({
  path: z.string().regex(/^\/[^\s]*$/, 'an absolute path')
    .refine((p) => !p.split('/').some((seg) => seg === '.' || seg === '..'), 'no "." or ".." segments: name the directory plainly')
    .transform((p) => p.replace(/\/{2,}/g, '/').replace(/(.)\/+$/, '$1'))
    .superRefine((p, ctx) => {
      const why = protectedPlace(p);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    }),
  olderThanDays: z.number().int().min(1).max(3650).default(7).describe('only files last modified more than this many days ago are deleted (default 7)'),
  names: z.array(z.string().regex(/^[A-Za-z0-9_.*?-]{1,64}$/, 'a file name pattern of letters, digits, _ . - * ?')).max(16).default([]).describe('only files whose names match one of these (default: any)'),
});
export type CleanupPlace = z.infer<typeof CleanupPlace>;

export const RebootSettings = z.strictObject({
  argv: z.array(z.string().min(1)).min(1).max(16).default(['systemctl', 'reboot']).describe('the command that reboots the host (default systemctl reboot)'),
});
export type RebootSettings = z.infer<typeof RebootSettings>;
