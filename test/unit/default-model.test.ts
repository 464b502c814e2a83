// The loop's default model comes from the installed SDK's own lists and is not deprecated; a
// deprecated configured model is warned about once, with its end-of-life date; and in a real
// process the SDK's own per-request warning and Node's warnings arrive as JSON on stderr, never on
// stdout or as plain lines in the log stream.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { LOOP_DEFAULTS } from '../../src/loop/config.js';
import { DEFAULT_MODEL, endOfLifeOf, sdkDeprecatedModels, warnIfDeprecatedModel } from '../../src/loop/models.js';
import { CLI, readyUrl } from '../support/cli.js';
import { startMessagesApi } from '../support/messages-api.js';
import { startProcess, tempDir } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  let text = '';
  const sink = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  return { log: pino({ level: 'debug' }, sink), lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Every line of a stream is one JSON object (the log stream's contract). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter(Boolean).map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`a line on stderr is not JSON: ${line}`);
    }
  });
}

describe('the default model', () => {
  it('is the loop default, a Sonnet, and not in the SDK deprecation list', () => {
    expect(LOOP_DEFAULTS.model).toBe(DEFAULT_MODEL);
    expect(DEFAULT_MODEL).toMatch(/^claude-sonnet-/);
    expect(endOfLifeOf(DEFAULT_MODEL)).toBeUndefined();
  });

  it("reads the SDK's own deprecation list: claude-sonnet-4-5 ends on 2026-11-30", () => {
    // An SDK upgrade that moves the list fails here rather than silently dropping the warning.
    expect(sdkDeprecatedModels()).toMatchObject({ 'claude-sonnet-4-5': 'November 30th, 2026' });
  });
});

describe('a deprecated configured model', () => {
  it('is warned about once per process, with its end-of-life date', () => {
    const { log, lines } = capture();
    expect(warnIfDeprecatedModel('claude-sonnet-4-5-20250929', log)).toBe(true);
    expect(warnIfDeprecatedModel('claude-sonnet-4-5-20250929', log)).toBe(true);
    expect(lines()).toEqual([expect.objectContaining({
      level: 40, model: 'claude-sonnet-4-5-20250929', endOfLife: 'November 30th, 2026', suggested: DEFAULT_MODEL,
      msg: expect.stringMatching(/deprecated and reaches end of life on November 30th, 2026/),
    })]);
  });

  it('a current model is not warned about', () => {
    const { log, lines } = capture();
    expect(warnIfDeprecatedModel(DEFAULT_MODEL, log)).toBe(false);
    expect(warnIfDeprecatedModel('__proto__', log)).toBe(false);
    expect(lines()).toEqual([]);
  });
});

describe('library output in a real process', () => {
  it("the SDK's per-request warning, console.log and a Node warning become JSON on stderr; stdout stays empty", async () => {
    const api = await startMessagesApi([{ content: [{ type: 'text', text: 'one' }] }, { content: [{ type: 'text', text: 'two' }] }]);
    try {
      const script = `
        import { createLogger, routeLibraryOutput } from './dist/log.js';
        import Anthropic from '@anthropic-ai/sdk';
        routeLibraryOutput(createLogger('debug'));
        const a = new Anthropic({ apiKey: 'test-key', baseURL: process.env.BASE_URL, maxRetries: 0 });
        for (const text of ['a', 'b']) await a.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: text }] });
        console.log('a library prints to stdout');
        process.emitWarning('a library warns', 'DeprecationWarning', 'DEP_TEST');
        await new Promise((r) => setTimeout(r, 20));
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env: { PATH: process.env.PATH, BASE_URL: api.baseURL } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => { stdout += String(b); });
      child.stderr.on('data', (b: Buffer) => { stderr += String(b); });
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code, stderr).toBe(0);
      expect(stdout).toBe('');
      const lines = jsonLines(stderr);
      const sdk = lines.filter((l) => /^The model 'claude-sonnet-4-5' is deprecated/.test(String(l.msg)));
      expect(sdk.map((l) => l.level)).toEqual([20, 20]);
      expect(lines).toContainEqual(expect.objectContaining({ level: 30, from: 'library', msg: 'a library prints to stdout' }));
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, from: 'library', warning: 'DeprecationWarning', code: 'DEP_TEST', msg: 'a library warns' }));
      api.assertDone();
    } finally {
      await api.close();
    }
  });

  it('a library warning in a loop is logged once a minute, not a thousand times; every console.error still arrives at error level', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { createLogger, routeLibraryOutput } from './dist/log.js';
      routeLibraryOutput(createLogger('info'));
      for (let i = 0; i < 1000; i++) console.warn('a library warns in a loop');
      for (let i = 0; i < 100; i++) process.emitWarning('a warning in a loop', 'Warning', 'W_LOOP');
      console.warn('another warning');
      console.error('a library failed:', new Error('boom'));
      console.error('a library failed:', new Error('boom'));
      // A second call changes the logger only: each line is still written once.
      routeLibraryOutput(createLogger('info').child({ second: true }));
      console.info('after the second call');
      await new Promise((r) => setTimeout(r, 20));
    `], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const lines = jsonLines(r.stderr);
    expect(lines.filter((l) => l.msg === 'a library warns in a loop')).toEqual([expect.objectContaining({ level: 40, from: 'library' })]);
    expect(lines.filter((l) => l.msg === 'a warning in a loop')).toEqual([expect.objectContaining({ level: 40, code: 'W_LOOP' })]);
    expect(lines.filter((l) => l.msg === 'another warning')).toEqual([expect.objectContaining({ level: 40 })]);
    const errors = lines.filter((l) => /^a library failed: Error: boom\n\s+at /.test(String(l.msg)));
    expect(errors.map((l) => [l.level, l.from])).toEqual([[50, 'library'], [50, 'library']]);
    expect(lines.filter((l) => l.msg === 'after the second call')).toEqual([expect.objectContaining({ level: 30, second: true })]);
  });

  it('warden serve with a deprecated loop.model warns once at start, as JSON on stderr', async () => {
    const dir = tempDir('model');
    writeFileSync(join(dir, 'warden.yaml'), 'loop:\n  model: claude-sonnet-4-5\n  watchDockerEvents: false\n  monitors: false\n');
    const env = { PATH: process.env.PATH, HOME: dir, WARDEN_CONFIG: join(dir, 'warden.yaml'), WARDEN_DATA_DIR: join(dir, 'data'), DOCKER_HOST: `unix://${join(dir, 'no.sock')}`, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' };
    const serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0'], { env });
    let stdout = '';
    let stderr = '';
    serve.child.stdout!.on('data', (b: Buffer) => { stdout += String(b); });
    serve.child.stderr!.on('data', (b: Buffer) => { stderr += String(b); });
    try {
      await readyUrl(serve);
    } finally {
      await serve.stop('SIGTERM');
    }
    expect(stdout).toBe('');
    const warnings = jsonLines(stderr).filter((l) => l.model === 'claude-sonnet-4-5');
    expect(warnings).toEqual([expect.objectContaining({ level: 40, endOfLife: 'November 30th, 2026', suggested: DEFAULT_MODEL })]);
  });
});

describe('the SDK', () => {
  it('still prints its deprecation line with console.warn (what routeLibraryOutput has to catch)', () => {
    // Without the routing, the line is plain text on stderr: the behaviour this file guards against.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import Anthropic from '@anthropic-ai/sdk';
      const a = new Anthropic({ apiKey: 'k', baseURL: 'http://127.0.0.1:9', maxRetries: 0 });
      await a.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }).catch(() => {});
    `], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.stderr).toMatch(/^The model 'claude-sonnet-4-5' is deprecated and will reach end-of-life on November 30th, 2026/m);
  });
});
