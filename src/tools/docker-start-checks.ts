// What restart_container and start_container check around their one Docker request: before it, that
// Docker's own restart policy is not bringing the container back (warden never races Docker); after a
// refused start, Docker's own error, quoted. Both only read the container.
//
// Seen on a real dockerd (busybox `sh -c 'exit 1'` under --restart=always, inspect every 10 ms):
// Docker decides at the exit and shows State.Restarting (status "restarting", Running still true,
// ExitCode the code it died with) for the whole back-off; then "running", ExitCode 0, for the moment
// the command lives, with RestartCount one higher. Under a policy a container is never seen "exited"
// between two of its restarts: "exited" means Docker gave up (on-failure out of retries, exit 0 under
// on-failure) or someone stopped it, so starting an exited container races nothing. A restart through
// the API cancels Docker's pending one and resets RestartCount to 0 (events stop, start, restart),
// which hides the crash loop; a start while restarting is answered 304 and does nothing.
import type { ContainerState, DockerAdapter } from '../adapters/docker.js';
import { ToolFailure } from '../errors.js';
import { describeExitCode } from './exit-meaning.js';

/** Docker's restart manager resets its back-off only after a run this long: a shorter one is still its crash loop. */
export const POLICY_RUN_MS = 10_000;

export function policyText(p: ContainerState['restartPolicy']): string {
  return p.name === 'on-failure' && p.maximumRetryCount > 0 ? `on-failure, max ${p.maximumRetryCount}` : p.name;
}

type Exit = Pick<ContainerState, 'exitCode' | 'oomKilled'>;

/**
 * Docker's restart policy, its count and the last exit code, as every refusal and reason names them.
 * `exit` defaults to the state itself; null when no exit was seen (a running look shows exit code 0).
 */
export function policyFacts(s: ContainerState, exit: Exit | null = s): string {
  const code = exit ? `last exit code ${exit.exitCode}${exit.oomKilled ? ' (OOMKilled)' : ''}` : 'no exit seen';
  return `${policyText(s.restartPolicy)}, restart count ${s.restartCount}, ${code}`;
}

/**
 * Why warden must not act on this container now, or undefined. Restarting: always. Running with a
 * restart count, started under POLICY_RUN_MS ago: only for a restart, since the run was Docker's own
 * (an API start resets the count) and a crash loop spends part of each cycle running. A start of a
 * running container does nothing, so it races nothing.
 */
export function raceWithDocker(s: ContainerState, host: string, action: 'start' | 'restart', nowMs: number): string | undefined {
  if (s.restarting) {
    return `${s.name} on host ${host} is being restarted by Docker's restart policy (${policyFacts(s)}); warden does not race it: wait, or stop it first`;
  }
  if (action === 'start' || !s.running || s.restartCount === 0 || s.restartPolicy.name === 'no') return undefined;
  // Either sign: a remote Docker's clock may be a little ahead of ours.
  const upMs = nowMs - Date.parse(s.startedAt);
  if (!(Math.abs(upMs) < POLICY_RUN_MS)) return undefined;
  const upS = Math.max(0, Math.round(upMs / 100) / 10);
  return `${s.name} on host ${host} was started by Docker's restart policy ${upS}s ago (${policyText(s.restartPolicy)}, restart count ${s.restartCount}): ` +
    `it may be crash-looping; warden does not race it: wait ${POLICY_RUN_MS / 1000}s and look again, or stop it first`;
}

/** Reads the container first and refuses, as unavailable (wait and retry), while Docker's restart policy owns it. */
export async function refuseRace(docker: DockerAdapter, host: string, ref: string, action: 'start' | 'restart'): Promise<void> {
  const s = await docker.containerState(ref);
  const race = raceWithDocker(s, host, action, Date.now());
  if (race) throw new ToolFailure('unavailable', race);
}

/**
 * Runs a start or restart; when Docker refuses it and records a start error (a command that does not
 * exist or cannot execute, a missing mount), fails with that error quoted: trying again cannot help.
 */
export async function withStartError(docker: DockerAdapter, host: string, ref: string, act: () => Promise<void>): Promise<void> {
  try {
    await act();
  } catch (err) {
    if (!(err instanceof ToolFailure) || err.kind !== 'target_failed') throw err;
    const s = await docker.containerState(ref).catch(() => undefined);
    if (!s?.error) throw err;
    throw new ToolFailure(
      'target_failed',
      `${s.name} on host ${host} could not start: Docker's error: ${s.error} (exit ${describeExitCode(s.exitCode)}). ` +
        'A configuration error: starting it again will not help; its command, image or mounts must change (inspect_container shows them)',
      { exitCode: s.exitCode },
      err,
    );
  }
}
