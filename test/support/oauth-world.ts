// A gateway whose server.oauth trusts a real authorization server started for the test, both on
// loopback; every server a test starts is closed after it.
import { afterEach } from 'vitest';
import type { ServerConfig } from '../../src/server/daemon.js';
import type { TestGateway, useGateways } from './http-gateway.js';
import { CLIENTS, oauthConfigYaml, startAuthServer, type TestAuthServer } from './oauth-provider.js';
import { freePort } from './ports.js';

/** A second resource the authorization server issues tokens for: a token for it is one warden must refuse. */
export const OTHER_API = 'http://127.0.0.1:1/other-api';

export interface OAuthWorld {
  as: TestAuthServer;
  g: TestGateway;
  resource: string;
}

export interface OAuthWorldOptions {
  extra?: string[];
  server?: Partial<ServerConfig>;
  resourceOf?: (port: number) => string;
}

/** `world()` starts one at a port known before the gateway starts; `started` takes anything else to close. */
export function useOAuthWorlds(gateway: ReturnType<typeof useGateways>): {
  world(opts?: OAuthWorldOptions): Promise<OAuthWorld>;
  started: { close(): Promise<void> }[];
} {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.close();
  });
  async function world(opts: OAuthWorldOptions = {}): Promise<OAuthWorld> {
    const port = await freePort();
    const resource = opts.resourceOf?.(port) ?? `http://127.0.0.1:${port}/mcp`;
    const as = await startAuthServer({ clients: CLIENTS, resources: { [resource]: {}, [OTHER_API]: {} } });
    started.push(as);
    const g = await gateway.custom({ config: oauthConfigYaml(as.issuer, resource, opts.extra), server: { port, ...opts.server } });
    return { as, g, resource };
  }
  return { world, started };
}
