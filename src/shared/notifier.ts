// What warden tells people: notify-decisions, approval requests, escalations, checkpoints. The
// interface every layer sends through; the webhook delivery lives in adapters/webhooks.ts.

export type NotifyEvent = 'notify' | 'approval.requested' | 'approval.decided' | 'escalation' | 'audit.checkpoint';

export interface Notification {
  event: NotifyEvent;
  /** One line for chat: what happened and what a human can do. */
  title: string;
  fields: Record<string, string | number | boolean | null | undefined>;
}

export interface WebhookConfig {
  url: string;
  format: 'generic' | 'slack' | 'discord';
  events?: NotifyEvent[];
}

export interface Notifier {
  send(n: Notification): void;
  /** Resolves when every delivery under way has finished or given up. */
  flush(): Promise<void>;
}
