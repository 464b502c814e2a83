// `warden serve` stops within its promise even when a webhook hangs: the notification it could not
// deliver stays in the outbox, pending, for the next process.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, warden, readyUrl } from '../support/cli.js';
import { connectHttp } from '../support/http-gateway.js';
import { startProcess, tempDir, waitFor } from '../support/processes.js';

describe('warden serve shutting down', () => {
  it('ends within 10 s of SIGTERM with a webhook that accepts and never answers, leaving its notification pending', async () => {
    const sockets: Socket[] = [];
    const hanging = createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const dir = tempDir('serve-shutdown');
    const config = join(dir, 'warden.yaml');
    writeFileSync(config, [
      'notify:',
      `  webhooks: [{ url: "http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook", format: generic, events: [audit.checkpoint] }]`,
      'audit:',
      '  checkpointEvery: { entries: 1, minutes: 10 }',
    ].join('\n'));
    const env = { WARDEN_CONFIG: config, WARDEN_DATA_DIR: join(dir, 'data'), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
    const { token } = JSON.parse(warden(['tokens', 'create', '--principal', 'ops', '--role', 'operator', '--json'], env).stdout) as { token: string };
    const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0', '--no-loop'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...env },
    });
    try {
      const url = await readyUrl(serve);
      const c = await connectHttp(url, token);
      await c.client.callTool({ name: 'list_containers', arguments: {} });
      await c.close();
      await waitFor('the webhook was dialled', async () => sockets.length > 0);
      const exited = new Promise<number | null>((resolve) => serve.child.once('exit', (code) => resolve(code)));
      const started = Date.now();
      process.kill(serve.pid, 'SIGTERM');
      const code = await exited;
      // The README's promise: a graceful stop in well under 10 s, whatever a webhook does.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(code).toBe(0);
      const status = JSON.parse(warden(['status', '--json'], env).stdout) as { outbox: { pending: number } };
      expect(status.outbox.pending).toBeGreaterThan(0);
    } finally {
      if (serve.child.exitCode === null) process.kill(serve.pid, 'SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise((r) => hanging.close(r));
    }
  });
});
