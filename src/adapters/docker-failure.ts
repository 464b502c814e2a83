// The one place Docker's errors become ToolFailure kinds, and the one place that decides `notRun`:
// that nothing of a call reached Docker. An adapter method may send several requests (an exec is
// create, start, inspect); only the failure of its first can say so, since any later one follows a
// request Docker already received, and the program or change may have run.
import { ToolFailure, errorMessage } from '../errors.js';
import { redactText } from '../shared/redact.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'EPIPE']);
/** No connection was made at all, so the request never reached Docker; a reset or a timeout may have. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'EHOSTUNREACH']);

/** Whether a failure says the endpoint cannot be reached at all (what its circuit breaker counts), not that Docker refused something. */
export function dockerUnreachable(err: unknown): boolean {
  if (!(err instanceof ToolFailure) || err.kind !== 'unavailable') return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/**
 * Translates a dockerode error into a kind the model can act on; the raw error is kept as cause.
 * `first`: the request that failed was the first its method sent. Without it a failure never says
 * notRun, so a method that forgets to say costs at worst an approval that could have been given back.
 */
export function dockerFailure(err: unknown, host: string, step: string, ref?: string, first = false): ToolFailure {
  if (err instanceof ToolFailure) return err;
  const e = err as { statusCode?: number; code?: string; json?: { message?: string } };
  const said = redactText(e.json?.message ?? errorMessage(err)).slice(0, 300);
  if (e.statusCode === 404 && ref) {
    return new ToolFailure('invalid_input', `no container "${ref}" on host ${host}; list_containers shows the valid names`, {}, err);
  }
  if (e.code && UNREACHABLE.has(e.code)) {
    const notRun = first && NEVER_CONNECTED.has(e.code);
    const after = first ? '' : ' (earlier requests of this call had reached Docker)';
    return new ToolFailure('unavailable', `Docker on host ${host} is unreachable (${e.code}) during ${step}${after}; retry later`, notRun ? { notRun: true } : {}, err);
  }
  if (e.statusCode !== undefined) {
    return new ToolFailure('target_failed', `Docker on host ${host} refused ${step}: ${said}`, {}, err);
  }
  return new ToolFailure('unavailable', `Docker on host ${host} failed during ${step}: ${said}`, {}, err);
}

/**
 * The requests of one adapter method call, in the order sent: one per call, never shared, so the
 * first `begin` is the method's first request.
 */
export class DockerRequests {
  private sent = 0;

  constructor(private readonly host: string, private readonly ref?: string) {}

  /** Call just before sending a request; returns the translator for its failure (including a failure reading its response). */
  begin(step: string, ref: string | undefined = this.ref): (err: unknown) => ToolFailure {
    const first = this.sent === 0;
    this.sent += 1;
    return (err) => dockerFailure(err, this.host, step, ref, first);
  }

  /** One request, its failure translated. */
  async send<T>(step: string, fn: () => Promise<T>, ref: string | undefined = this.ref): Promise<T> {
    const fail = this.begin(step, ref);
    try {
      return await fn();
    } catch (err) {
      throw fail(err);
    }
  }
}
