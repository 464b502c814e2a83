// Sends signed audit checkpoints through the notifier: after every N entries this process
// appended, every M minutes when it appended any since the last one, and once at close. Counting
// is all an append costs; a signature is made only for a checkpoint that is sent.
import type { Notifier } from '../shared/notifier.js';
import type { Checkpoint } from './audit.js';
import type { SignedCheckpoint } from './audit-key.js';

export interface CheckpointEmitterOptions {
  notifier: Notifier;
  sign: (head: Checkpoint) => SignedCheckpoint;
  everyEntries: number;
  everyMinutes: number;
  /** A checkpoint that could not be made; the entries it would have named stand regardless. */
  onError: (err: unknown) => void;
}

export class CheckpointEmitter {
  private head: Checkpoint | undefined;
  private unsent = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: CheckpointEmitterOptions) {
    this.timer = setInterval(() => this.flush(), opts.everyMinutes * 60_000);
    // Never what keeps a process alive.
    this.timer.unref();
  }

  /** Called after `count` entries were committed, `head` the newest of them. Never throws. */
  appended(head: Checkpoint, count = 1): void {
    if (!this.head || head.seq > this.head.seq) this.head = head;
    this.unsent += count;
    if (this.unsent >= this.opts.everyEntries) this.flush();
  }

  /** Stops the timer and sends the last checkpoint, if anything was appended since the one before. */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private flush(): void {
    if (this.unsent === 0 || !this.head) return;
    this.unsent = 0;
    try {
      const cp = this.opts.sign(this.head);
      this.opts.notifier.send({ event: 'audit.checkpoint', title: `warden audit checkpoint: entry ${cp.seq}`, fields: { ...cp } });
    } catch (err) {
      this.opts.onError(err);
    }
  }
}
