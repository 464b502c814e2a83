// The ToolFailure a call ends with, for tests that assert its kind and message.
import { ToolFailure } from '../../src/errors.js';

/** The ToolFailure `p` rejects with; anything else (success, another error) fails the test. */
export async function failureOf(p: Promise<unknown>): Promise<ToolFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ToolFailure)) throw new Error(`expected a ToolFailure, got ${err === undefined ? 'success' : String(err)}`);
  return err;
}

/** The ToolFailure `fn` throws synchronously. */
export function thrownFailure(fn: () => unknown): ToolFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ToolFailure) return err;
    throw err;
  }
  throw new Error('expected a ToolFailure');
}
