// Which fault goes where in each round of `warden chaos run`: pure, and the same for the same seed
// and candidates, so a run can be replayed. It never looks at a container without the label.
import type { Fault } from '../tools/chaos-fault.js';

/** A container that opted in, as discovery saw it. */
export interface Candidate {
  host: string;
  name: string;
  /** Its memory limit in bytes; 0 when none (no oom fault then). */
  memoryBytes: number;
  /** Whether it has a health check (an unhealthy fault needs one). */
  hasHealthCheck: boolean;
}

/** The flags of `warden chaos run`, as commander parsed them. */
export interface ChaosRunOptions {
  rounds: number;
  interval: number;
  maxConcurrent: number;
  faults: string[];
  seed?: number;
  timeout: number;
  dryRun?: boolean;
  json?: boolean;
}

export interface PlannedFault {
  round: number;
  host: string;
  container: string;
  fault: Fault;
}

/** mulberry32: a 32-bit seeded generator, enough to pick faults reproducibly (no cryptographic use). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults this container can take: oom needs a memory limit, unhealthy a health check. */
export function faultsFor(c: Candidate, wanted: readonly Fault[]): Fault[] {
  return wanted.filter((f) => (f === 'oom' ? c.memoryBytes > 0 : f === 'unhealthy' ? c.hasHealthCheck : true));
}

/**
 * Each round: up to maxConcurrent containers (one fault each), drawn without repeats, each given one
 * of the faults it can take. Candidates are sorted first, so the order discovery found them in
 * does not change the plan.
 */
export function planRounds(candidates: readonly Candidate[], opts: { rounds: number; maxConcurrent: number; faults: readonly Fault[]; seed: number }): PlannedFault[][] {
  const random = seeded(opts.seed);
  const pool = [...candidates].sort((a, b) => `${a.host}/${a.name}`.localeCompare(`${b.host}/${b.name}`)).filter((c) => faultsFor(c, opts.faults).length > 0);
  const rounds: PlannedFault[][] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const order = [...pool];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    rounds.push(order.slice(0, opts.maxConcurrent).map((c) => {
      const can = faultsFor(c, opts.faults);
      return { round, host: c.host, container: c.name, fault: can[Math.floor(random() * can.length)]! };
    }));
  }
  return rounds;
}
