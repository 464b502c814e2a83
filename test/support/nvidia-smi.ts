// A stand-in `nvidia-smi` (there is no GPU on CI): an executable Node script in a temp dir that
// answers the query forms warden uses with nvidia-smi's own CSV formatting, resets GPUs the way
// the real one does (refusing while compute processes run), behaves like a machine without a
// driver when it has no GPUs, and records the argv of every call. Its state lives in state.json
// next to it, so a test can change it between calls.
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './processes.js';

export interface FakeGpu {
  /** Default 'NVIDIA H100 80GB HBM3'. */
  name?: string;
  /** Default derived from the index: GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx. */
  uuid?: string;
  /** Default an HGX-style bus id: 00000000:18:00.0, 00000000:2A:00.0, ... */
  busId?: string;
  /** Percent. Default 0. */
  utilization?: number;
  utilizationMemory?: number;
  /** MiB. Defaults 0 / 81559. */
  memoryUsed?: number;
  memoryTotal?: number;
  /** Celsius. Default 32. */
  temperature?: number;
  /** Watts; null prints [N/A]. Default 69.42. */
  powerDraw?: number | null;
  powerLimit?: number | null;
  /** Percent; null (the default, as on data-centre boards) prints [N/A]. */
  fanSpeed?: number | null;
  /** Default 'P0'. */
  pstate?: string;
}

export interface FakeProc {
  /** Index of the GPU the process runs on. */
  gpu: number;
  /** nvidia-smi prints "[N/A]" for a process it cannot see the pid of (one inside a container). */
  pid: number | '[N/A]';
  /** Default 'python3'. */
  name?: string;
  /** MiB. Default 1024. */
  usedMemory?: number;
}

export interface FakeNvidiaSmiOptions {
  gpus: FakeGpu[];
  processes?: FakeProc[];
  /** Non-zero: every --gpu-reset fails with this exit code (3: "not supported"). */
  resetExitCode?: number;
  driverVersion?: string;
}

export interface FakeGpuState extends Required<Omit<FakeGpu, 'powerDraw' | 'powerLimit' | 'fanSpeed'>> {
  index: number;
  powerDraw: number | null;
  powerLimit: number | null;
  fanSpeed: number | null;
  /** How many times --gpu-reset succeeded on this GPU. */
  resets: number;
}

export interface FakeNvidiaSmiState {
  driverVersion: string;
  resetExitCode: number;
  gpus: FakeGpuState[];
  processes: Required<FakeProc>[];
}

export interface FakeNvidiaSmi {
  /** Put first on PATH. */
  dir: string;
  /** The executable itself. */
  path: string;
  /** `${dir}:${process.env.PATH}` */
  pathEnv: string;
  /** The argv (without the program name) of every call so far, in order. */
  calls(): string[][];
  /** Current state, including what resets changed. */
  state(): FakeNvidiaSmiState;
  /** Replaces the parts given (GPUs are indexed by position, processes replace the list). */
  setState(patch: Partial<FakeNvidiaSmiOptions>): void;
  remove(): void;
}

const BUS = ['18', '2A', '3A', '5D', '9A', 'AB', 'BA', 'DB'];

function normaliseGpu(g: FakeGpu, index: number): FakeGpuState {
  const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');
  const seed = 0x5eed0000 + index * 0x1111;
  return {
    index,
    name: g.name ?? 'NVIDIA H100 80GB HBM3',
    uuid: g.uuid ?? `GPU-${hex(seed, 8)}-${hex(index, 4)}-${hex(0xa000 + index, 4)}-b${hex(index, 3)}-${hex(0xfeed00 + index, 12)}`,
    busId: g.busId ?? `00000000:${BUS[index] ?? hex(0xe0 + index, 2).toUpperCase()}:00.0`,
    utilization: g.utilization ?? 0,
    utilizationMemory: g.utilizationMemory ?? 0,
    memoryUsed: g.memoryUsed ?? 0,
    memoryTotal: g.memoryTotal ?? 81559,
    temperature: g.temperature ?? 32,
    powerDraw: g.powerDraw === undefined ? 69.42 : g.powerDraw,
    powerLimit: g.powerLimit === undefined ? 700 : g.powerLimit,
    fanSpeed: g.fanSpeed ?? null,
    pstate: g.pstate ?? 'P0',
    resets: 0,
  };
}

const normaliseProc = (p: FakeProc): Required<FakeProc> => ({ gpu: p.gpu, pid: p.pid, name: p.name ?? 'python3', usedMemory: p.usedMemory ?? 1024 });

// The executable. Plain CommonJS JavaScript, run by this same node binary.
const SCRIPT = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const dir = __dirname;
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify(argv) + '\n');
const stateFile = path.join(dir, 'state.json');
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const out = (s) => process.stdout.write(s);
const exit = (code) => process.exit(code);

if (state.gpus.length === 0) {
  out('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n');
  exit(9);
}

const opts = {};
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  const eq = a.indexOf('=');
  const key = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
  const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
  const takesValue = ['--query-gpu', '--query-compute-apps', '--format', '-i', '--id'].includes(key);
  if (takesValue) {
    const v = inline !== undefined ? inline : argv[++i];
    if (v === undefined) { out('Invalid combination of input arguments. Please run \'nvidia-smi -h\' for help.\n\n'); exit(2); }
    opts[key === '--id' ? '-i' : key] = v;
  } else if (key === '-r' || key === '--gpu-reset') opts.reset = true;
  else if (key === '-L' || key === '--list-gpus') opts.list = true;
  else { out('fake nvidia-smi does not implement: ' + JSON.stringify(argv) + '\n'); exit(2); }
}

function selected() {
  if (opts['-i'] === undefined) return state.gpus;
  const ids = opts['-i'].split(',').map((s) => s.trim());
  const found = ids.map((id) => state.gpus.find((g) => String(g.index) === id || g.uuid === id || g.busId.toLowerCase() === id.toLowerCase() || g.busId.slice(4).toLowerCase() === id.toLowerCase()));
  if (found.some((g) => !g)) { out('No devices were found\n'); exit(6); }
  return found;
}

const NA = '[N/A]';
const num = (v) => (v === null || v === undefined ? null : v);
const watts = (v) => (v === null || v === undefined ? null : v.toFixed(2));
const stamp = () => { const d = new Date(); const p = (n, l = 2) => String(n).padStart(l, '0'); return d.getFullYear() + '/' + p(d.getMonth() + 1) + '/' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3); };
const GPU_FIELDS = {
  'timestamp': { get: () => stamp() },
  'driver_version': { get: () => state.driverVersion },
  'count': { get: () => state.gpus.length },
  'index': { get: (g) => g.index },
  'name': { alias: ['gpu_name'], get: (g) => g.name },
  'uuid': { alias: ['gpu_uuid'], get: (g) => g.uuid },
  'pci.bus_id': { alias: ['gpu_bus_id'], get: (g) => g.busId },
  'pstate': { get: (g) => g.pstate },
  'compute_mode': { get: () => 'Default' },
  'persistence_mode': { get: () => 'Enabled' },
  'fan.speed': { unit: '%', get: (g) => num(g.fanSpeed) },
  'utilization.gpu': { unit: '%', get: (g) => g.utilization },
  'utilization.memory': { unit: '%', get: (g) => g.utilizationMemory },
  'memory.total': { unit: 'MiB', get: (g) => g.memoryTotal },
  'memory.used': { unit: 'MiB', get: (g) => g.memoryUsed },
  'memory.free': { unit: 'MiB', get: (g) => Math.max(0, g.memoryTotal - g.memoryUsed) },
  'temperature.gpu': { get: (g) => g.temperature },
  'power.draw': { unit: 'W', get: (g) => watts(g.powerDraw) },
  'power.limit': { unit: 'W', get: (g) => watts(g.powerLimit) },
};
const APP_FIELDS = {
  'timestamp': { get: () => stamp() },
  'gpu_name': { get: (p, g) => g.name },
  'gpu_bus_id': { get: (p, g) => g.busId },
  'gpu_uuid': { get: (p, g) => g.uuid },
  'pid': { get: (p) => p.pid },
  'process_name': { alias: ['name'], get: (p) => p.name },
  'used_gpu_memory': { alias: ['used_memory'], unit: 'MiB', get: (p) => p.usedMemory },
};

function resolve(table, names) {
  return names.map((n) => {
    const key = Object.keys(table).find((k) => k === n || (table[k].alias || []).includes(n));
    if (!key) { out('Field "' + n + '" is not a valid field to query.\n\n'); exit(2); }
    return Object.assign({ name: key }, table[key]);
  });
}

function csv(table, query, rows) {
  if (opts['--format'] === undefined) { out('"--format" must be specified with --query-*. Please run \'nvidia-smi -h\' for help.\n\n'); exit(2); }
  const format = opts['--format'].split(',');
  if (!format.includes('csv')) { out('Invalid combination of input arguments. Please run \'nvidia-smi -h\' for help.\n\n'); exit(2); }
  const fields = resolve(table, query.split(',').map((s) => s.trim()).filter(Boolean));
  const lines = [];
  if (!format.includes('noheader')) lines.push(fields.map((f) => f.name + (f.unit ? ' [' + f.unit + ']' : '')).join(', '));
  for (const row of rows) {
    lines.push(fields.map((f) => {
      const v = f.get(...row);
      if (v === null || v === undefined) return NA;
      return format.includes('nounits') || !f.unit ? String(v) : v + ' ' + f.unit;
    }).join(', '));
  }
  out(lines.map((l) => l + '\n').join(''));
  exit(0);
}

if (opts.reset) {
  const gpus = selected();
  const busy = gpus.filter((g) => state.processes.some((p) => p.gpu === g.index));
  if (busy.length) {
    out('The following GPUs could not be reset:\n' + busy.map((g) => '  GPU ' + g.busId + ': In use by another client\n').join('') + '\n');
    out(busy.length + ' device' + (busy.length > 1 ? 's are' : ' is') + ' currently being used by one or more other processes (e.g., Fabric Manager, CUDA application, graphics application such as an X server, or a monitoring application such as another instance of nvidia-smi). Please first kill all processes using this device and all compute applications running in the system.\n');
    exit(255);
  }
  if (state.resetExitCode) {
    for (const g of gpus) out(state.resetExitCode === 3 ? 'Resetting GPU ' + g.busId + ' is not supported.\n' : 'Unable to reset GPU ' + g.busId + ': Unknown Error\n');
    exit(state.resetExitCode);
  }
  for (const g of gpus) {
    g.utilization = 0; g.utilizationMemory = 0; g.memoryUsed = 0; g.resets += 1;
    out('GPU ' + g.busId + ' was successfully reset.\n');
  }
  fs.writeFileSync(stateFile + '.tmp', JSON.stringify(state, null, 2));
  fs.renameSync(stateFile + '.tmp', stateFile);
  exit(0);
}
if (opts.list) {
  out(selected().map((g) => 'GPU ' + g.index + ': ' + g.name + ' (UUID: ' + g.uuid + ')\n').join(''));
  exit(0);
}
if (opts['--query-gpu'] !== undefined) csv(GPU_FIELDS, opts['--query-gpu'], selected().map((g) => [g]));
if (opts['--query-compute-apps'] !== undefined) {
  const gpus = selected();
  const rows = [];
  for (const g of gpus) for (const p of state.processes) if (p.gpu === g.index) rows.push([p, g]);
  csv(APP_FIELDS, opts['--query-compute-apps'], rows);
}
out('fake nvidia-smi does not implement: ' + JSON.stringify(argv) + '\n');
exit(2);
`;

export function installFakeNvidiaSmi(opts: FakeNvidiaSmiOptions): FakeNvidiaSmi {
  const dir = tempDir('nvidia-smi');
  const path = join(dir, 'nvidia-smi');
  const stateFile = join(dir, 'state.json');
  const callsFile = join(dir, 'calls.jsonl');
  const write = (s: FakeNvidiaSmiState): void => writeFileSync(stateFile, JSON.stringify(s, null, 2));
  const read = (): FakeNvidiaSmiState => JSON.parse(readFileSync(stateFile, 'utf8')) as FakeNvidiaSmiState;
  write({
    driverVersion: opts.driverVersion ?? '550.90.07',
    resetExitCode: opts.resetExitCode ?? 0,
    gpus: opts.gpus.map(normaliseGpu),
    processes: (opts.processes ?? []).map(normaliseProc),
  });
  // Extensionless and CommonJS whatever package.json sits above the run dir.
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(path, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(path, 0o755);
  appendFileSync(callsFile, '');
  return {
    dir,
    path,
    pathEnv: `${dir}:${process.env.PATH ?? ''}`,
    calls: () => (existsSync(callsFile) ? readFileSync(callsFile, 'utf8') : '')
      .split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]),
    state: read,
    setState: (patch) => {
      const s = read();
      if (patch.gpus) s.gpus = patch.gpus.map((g, i) => ({ ...normaliseGpu(g, i), resets: s.gpus[i]?.resets ?? 0 }));
      if (patch.processes) s.processes = patch.processes.map(normaliseProc);
      if (patch.resetExitCode !== undefined) s.resetExitCode = patch.resetExitCode;
      if (patch.driverVersion !== undefined) s.driverVersion = patch.driverVersion;
      write(s);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
