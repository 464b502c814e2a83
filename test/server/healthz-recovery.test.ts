// One failed audit append (a disk full for a moment) must not keep /healthz failing on a quiet daemon
// where nothing appends again: its own committed write probe says when the database takes writes again.
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthCheck } from '../../src/server/health.js';
import type { Runtime } from '../../src/server/runtime.js';
import { testRuntime } from '../support/warden.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';

const open: Runtime[] = [];
afterEach(async () => { for (const rt of open.splice(0)) await rt.close(); });

describe('/healthz after a transient audit write failure', () => {
  it('is ok again once the database takes writes again', async () => {
    const rt = testRuntime({ adapters: fakeAdapters(new FakeDocker()) });
    open.push(rt);
    rt.db.pragma('query_only = ON'); // the disk refuses writes for a moment
    expect(() => rt.audit.append({ callId: 'c1', principal: 'alice', transport: 'cli', tool: 'x', target: null, args: {}, argsHash: '', phase: 'completed' })).toThrow();
    rt.db.pragma('query_only = OFF'); // freed
    const health = createHealthCheck(rt);
    const h = await health();
    expect({ status: h.status, audit: h.audit }).toEqual({ status: 'ok', audit: 'ok' });
  });
});
