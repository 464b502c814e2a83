// What every console page and action is handed: who is looking (the session's viewer) and the
// runtime's parts the pages read. Pages read stores directly; every change goes through the same
// deciders, switches and audit as the command line.
import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import type { Role } from '../../shared/roles.js';
import type { IncidentStore } from '../../store/incidents.js';
import type { TokenStore } from '../../store/tokens.js';
import type { Runtime } from '../runtime.js';
import type { LiveEvents } from './live-events.js';

export interface Viewer {
  principal: string;
  role: Role;
  tokenId: number;
  /** The session's CSRF token: every change carries it back (form field `_csrf` or header `x-csrf-token`). */
  csrf: string;
  sessionId: string;
}

export type ConsoleEnv = { Bindings: Partial<HttpBindings>; Variables: { viewer: Viewer } };

export interface ConsoleDeps {
  rt: Runtime;
  incidents: IncidentStore;
  tokens: TokenStore;
  /** The console's own address for links (server.publicUrl), when configured. */
  publicUrl?: string;
  /** Under TLS the cookie is Secure and named with the __Host- prefix. */
  secure: boolean;
}

/** Roles that may change anything from the console; readonly sees every page and changes nothing. */
export const CHANGE_ROLES: readonly Role[] = ['operator', 'admin'];
/** Roles that may sign in at all: an `alerts` token only posts alerts. */
export const CONSOLE_ROLES: readonly Role[] = ['readonly', 'operator', 'admin'];

export function canChange(viewer: Viewer): boolean {
  return CHANGE_ROLES.includes(viewer.role);
}

/** What page modules get besides the deps: the change guard and the live stream. */
export interface MountContext {
  /** requireChange with this console's refusal audit (same origin, CSRF token, a role in `roles`: default operator and admin). */
  change: (roles?: readonly Role[]) => MiddlewareHandler<ConsoleEnv>;
  live: LiveEvents;
  /** Runs `fn` when the console closes (warden shutting down): children and timers a page started end with it. */
  onClose: (fn: () => void | Promise<void>) => void;
}
