// The policy in force, kept live: the file is polled (a rename-and-replace by an editor is seen
// too) and a changed file is compiled and swapped in within about a second. An invalid new file
// keeps the last good policy and says so loudly: the log, /healthz and a metric.
import { statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Policy } from './policy-file.js';

export interface PolicyReload {
  ok: boolean;
  /** The hash of the policy in force after the attempt. */
  hash: string;
  error?: string;
}

export interface PolicyHolderOptions {
  /** Where the policy comes from; undefined for the built-in default, which never changes. */
  path?: string;
  load: () => Policy;
  log: Logger;
  pollMs?: number;
  /**
   * Where the policy cannot be loaded at start: without it, a bad file is an error (exit 2); with it,
   * the fallback is in force and the failure is reported (commands that call no tool use this).
   */
  fallback?: () => Policy;
  /** Told of each reload that changed the policy or failed, e.g. for the audit and a metric; must not throw. */
  onReload?: (r: PolicyReload) => void;
}

/** What watchFile compares, for a first look of our own. */
function fileSignature(path: string | undefined): string {
  try {
    const st = path === undefined ? undefined : statSync(path, { throwIfNoEntry: false });
    return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : 'absent';
  } catch (err) {
    // From a timer: a throw would end the process. Unreadable now counts as changed; reload() says why.
    return `unreadable: ${errorMessage(err)}`;
  }
}

export class PolicyHolder {
  private policy: Policy;
  private failure: string | undefined;
  private watching = false;
  private firstLook: NodeJS.Timeout | undefined;
  /** The file as it was just before the first load: what the policy in force was read from at the latest. */
  private readonly loadedSignature: string;
  private readonly changeListeners = new Set<(policy: Policy) => void>();

  constructor(private readonly opts: PolicyHolderOptions) {
    this.loadedSignature = fileSignature(opts.path);
    try {
      this.policy = opts.load();
    } catch (err) {
      if (!opts.fallback) throw err;
      this.policy = opts.fallback();
      this.failure = errorMessage(err);
      opts.log.warn({ error: this.failure }, 'the policy file is invalid: every write is denied in this command');
    }
  }

  current(): Policy {
    return this.policy;
  }

  /** `listener` hears of each reload that changed the policy in force (MCP sessions re-list their tools); returns its removal. */
  onChange(listener: (policy: Policy) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** How many listeners onChange holds: one per live long-lived MCP server, so a leak shows here. */
  get changeListenerCount(): number {
    return this.changeListeners.size;
  }

  /** Why the file on disk is not the policy in force, when it is not. */
  lastError(): string | undefined {
    return this.failure;
  }

  /** Re-reads the file; on failure the last good policy stays in force. */
  private reload(): PolicyReload {
    let result: PolicyReload;
    let changed = false;
    const before = this.failure;
    try {
      const next = this.opts.load();
      changed = next.hash !== this.policy.hash;
      this.policy = next;
      this.failure = undefined;
      result = { ok: true, hash: next.hash };
      if (changed) this.opts.log.warn({ policy: next.source, hash: next.hash }, 'policy reloaded');
    } catch (err) {
      this.failure = errorMessage(err);
      result = { ok: false, hash: this.policy.hash, error: this.failure };
    }
    // The same refusal seen again (the watcher and the first look both saw one save) was said once already.
    const newFailure = !result.ok && this.failure !== before;
    if (newFailure) this.opts.log.error({ policy: this.opts.path, error: this.failure }, 'new policy file is invalid: the last good policy stays in force');
    else if (!result.ok) this.opts.log.debug({ policy: this.opts.path }, 'policy file still invalid, already reported');
    if (changed || newFailure) this.opts.onReload?.(result);
    if (changed) {
      for (const listener of [...this.changeListeners]) {
        try {
          listener(this.policy);
        } catch (err) {
          this.opts.log.warn({ error: errorMessage(err) }, 'a policy change listener failed');
        }
      }
    }
    return result;
  }

  watch(): void {
    if (!this.opts.path || this.watching) return;
    this.watching = true;
    const w = watchFile(this.opts.path, { interval: this.opts.pollMs ?? 500, persistent: false }, (cur: Stats, prev: Stats) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.reload();
    });
    w.unref?.();
    // watchFile compares against its own first stat, taken a moment from now: a file replaced
    // between the load and then would never be seen. A reload that finds the same policy is silent.
    const path = this.opts.path;
    this.firstLook = setTimeout(() => {
      if (this.watching && fileSignature(path) !== this.loadedSignature) this.reload();
    }, this.opts.pollMs ?? 500);
    this.firstLook.unref();
  }

  close(): void {
    clearTimeout(this.firstLook);
    if (this.opts.path && this.watching) unwatchFile(this.opts.path);
    this.watching = false;
  }
}
