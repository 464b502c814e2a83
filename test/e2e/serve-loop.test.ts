// `warden serve` as a real process with the loop on (no API key: the runbooks act): a container
// dies, the loop brings it back and resolves the incident, and SIGTERM stops the loop before the
// database closes, leaving the audit chain verifying.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/shared/incidents.js';
import { CLI, warden } from '../support/cli.js';
import { createContainer } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { eventually } from '../support/loop-world.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';

let dockerd: Dockerd;
beforeAll(async () => { dockerd = await startDockerd(); });
afterAll(async () => { await dockerd?.stop(); });

describe('warden serve with the loop', () => {
  it('restores a container that died, resolves the incident, and stops cleanly on SIGTERM', async () => {
    const dir = tempDir('serve-loop');
    writeFileSync(join(dir, 'warden.yaml'), 'loop:\n  settleSeconds: 1\n  restoreFirstTiers: []\n');
    const env = { DOCKER_HOST: dockerd.dockerHost, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_CONFIG: join(dir, 'warden.yaml') };
    const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...env },
    });
    const exited = new Promise<number | null>((resolve) => serve.child.once('exit', (code) => resolve(code)));
    await waitFor('warden serve', async () => /"msg":"warden serve ready"/.test(serve.output()), serve);
    expect(serve.output()).toMatch(/"loop":"on"/);

    const c = await createContainer(dockerd, 'serve-die', { cmd: ['sh', '-c', 'if [ -f /died ]; then exec sleep 100000; fi; touch /died; sleep 1; exit 1'] });
    const incidents = (): Incident[] => JSON.parse(warden(['incidents', 'list', '--json'], env).stdout) as Incident[];
    await eventually('the incident to be resolved', () => incidents().some((i) => i.container === 'serve-die' && i.status === 'resolved'), 45_000);
    expect((await c.inspect()).State.Running).toBe(true);
    expect(incidents()[0]!.resolution).toMatch(/^runbook start_container on local\/serve-die .*verified/);

    process.kill(serve.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(serve.output()).toMatch(/loop stopped[\s\S]*warden serve stopped/);
    expect(warden(['audit', 'verify'], env)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^ok: \d+ entries/) });
  });
});
