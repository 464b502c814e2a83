// truncate_container_log's pure parts and its run over hand-written fakes: the exact stat and
// truncate argv, which LogPaths it accepts (each refusal names Docker's field, and runs nothing),
// and how a failing command comes back.
import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../../src/adapters/commands.js';
import { silentLogger } from '../../src/log.js';
import {
  HISTORY_NOTE, checkedLogPath, logSizeArgv, regularFileSize, summarizeTruncate, truncateContainerLog, truncateLogArgv, type LogFacts,
} from '../../src/tools/container-log-truncate.js';
import { failureOf, thrownFailure } from '../support/failures.js';
import { FakeDocker } from '../support/fake-docker.js';
import { FakeRunner } from '../support/fake-host.js';

const ID = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);
const OTHER = 'c'.repeat(64);
const LOG = `/var/lib/docker/containers/${ID}/${ID}-json.log`;
const facts = (over: Partial<LogFacts> = {}): LogFacts => ({ name: 'web-1', fullId: ID, logDriver: 'json-file', logPath: LOG, ...over });

describe('truncate_container_log argv', () => {
  it('reads the size with stat, the path after "--"', () => {
    expect(logSizeArgv(LOG)).toEqual(['stat', '-c', '%F %s', '--', LOG]);
    expect(regularFileSize('regular file 2097152\n')).toBe(2097152);
    expect(regularFileSize('regular empty file 0\n')).toBe(0);
    expect(regularFileSize('symbolic link 12\n')).toBeUndefined();
    expect(regularFileSize('fifo 0')).toBeUndefined();
  });

  it('empties the file with truncate -s 0, the path after "--"', () => {
    expect(truncateLogArgv(LOG)).toEqual(['truncate', '-s', '0', '--', LOG]);
  });
});

describe('truncate_container_log LogPath check', () => {
  it.each([
    ['the default data root', LOG],
    ['another data root', `/srv/docker data/containers/${ID}/${ID}-json.log`],
    ['a data root of /', `/containers/${ID}/${ID}-json.log`],
  ])('accepts the container\'s own json log under %s', (_what, logPath) => {
    expect(checkedLogPath(facts({ logPath }))).toBe(logPath);
  });

  it.each([
    ['a wrong id in the file name', `/var/lib/docker/containers/${ID}/${OTHER}-json.log`],
    ['a wrong id in the directory', `/var/lib/docker/containers/${OTHER}/${ID}-json.log`],
    ["another container's file", `/var/lib/docker/containers/${OTHER}/${OTHER}-json.log`],
    ['a short id', `/var/lib/docker/containers/${ID.slice(0, 12)}/${ID.slice(0, 12)}-json.log`],
    ['another directory than containers', `/var/lib/docker/volumes/${ID}/${ID}-json.log`],
    ['a file of another name', `/var/lib/docker/containers/${ID}/config.v2.json`],
    ['a rotated file', `/var/lib/docker/containers/${ID}/${ID}-json.log.1`],
    ['a path below the file', `/var/lib/docker/containers/${ID}/${ID}-json.log/x`],
  ])('refuses %s, naming LogPath and the expected form', (_what, logPath) => {
    const f = thrownFailure(() => checkedLogPath(facts({ logPath })));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toBe(`LogPath: ${JSON.stringify(logPath)} of container web-1 is not its own log file <dir>/containers/${ID}/${ID}-json.log; nothing was truncated`);
  });

  it.each([
    ['relative', `var/lib/docker/containers/${ID}/${ID}-json.log`, /is not an absolute path/],
    ['empty, as for a container never started', '', /has none yet \(Docker sets it when the container first starts\)/],
    ['climbing out with ../', `/var/lib/docker/containers/../../../etc/containers/${ID}/${ID}-json.log`, /has an empty, "\." or "\.\." segment/],
    ['with a ./ segment', `/var/lib/docker/./containers/${ID}/${ID}-json.log`, /has an empty, "\." or "\.\." segment/],
    ['with a doubled slash', `/var/lib/docker//containers/${ID}/${ID}-json.log`, /has an empty, "\." or "\.\." segment/],
    ['with a newline', `/var/lib/docker\n/containers/${ID}/${ID}-json.log`, /holds control characters/],
  ])('refuses a LogPath %s, naming LogPath', (_what, logPath, why) => {
    const f = thrownFailure(() => checkedLogPath(facts({ logPath })));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(/^LogPath: (".*" of )?container web-1 /s);
    expect(f.message).toMatch(why);
  });

  it.each([['none'], ['local'], ['journald'], ['']])('refuses the %j log driver, naming HostConfig.LogConfig.Type', (logDriver) => {
    const f = thrownFailure(() => checkedLogPath(facts({ logDriver })));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toBe(`HostConfig.LogConfig.Type: container web-1 logs with the ${JSON.stringify(logDriver)} driver, not json-file, ` +
      'so Docker keeps no log file of it that warden may empty; free space elsewhere (clean_disk, docker_prune)');
  });
});

const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '', truncated: false });

function world(over: { logDriver?: string; logPath?: string; answer?: (argv: readonly string[]) => CommandResult } = {}) {
  const docker = new FakeDocker();
  docker.containers = [{ id: ID, name: 'web-1', image: 'nginx', state: 'running', status: 'Up', exitCode: null, health: null, restartCount: 0, restartPolicy: 'no' }];
  const inspect = docker.inspectContainer.bind(docker);
  docker.inspectContainer = async (ref) => ({ ...(await inspect(ref)), ...(over.logDriver === undefined ? {} : { logDriver: over.logDriver }), ...(over.logPath === undefined ? {} : { logPath: over.logPath }) });
  const runner = new FakeRunner();
  runner.answer = over.answer ?? ((argv) => (argv.includes('stat') ? ok('regular file 2097152\n') : ok()));
  const ctx = { adapters: { docker: () => docker, commands: () => runner }, signal: new AbortController().signal, log: silentLogger } as never;
  return { docker, runner, run: () => truncateContainerLog.run({ host: 'local', container: 'web-1' } as never, ctx) };
}

describe('truncate_container_log run', () => {
  it('inspects by full ID, stats, then truncates the checked path, and reports the size before', async () => {
    const w = world();
    expect(await w.run()).toEqual({ host: 'local', container: 'web-1', logPath: LOG, bytesFreed: 2_097_152, note: HISTORY_NOTE });
    expect(w.docker.calls).toEqual([`inspect ${ID}`]);
    expect(w.runner.calls).toEqual([logSizeArgv(LOG), truncateLogArgv(LOG)]);
  });

  it.each([
    ['a non-json driver', { logDriver: 'none', logPath: '' }, /^HostConfig\.LogConfig\.Type: /],
    ["another container's LogPath", { logPath: `/var/lib/docker/containers/${OTHER}/${OTHER}-json.log` }, /^LogPath: /],
  ])('refuses %s before running anything', async (_what, over, message) => {
    const w = world(over);
    const f = await failureOf(w.run());
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(message);
    expect(w.runner.calls).toEqual([]);
  });

  it('fails as target_failed with exit code and stderr tail when stat fails, and truncates nothing', async () => {
    const w = world({ answer: () => ({ exitCode: 1, stdout: '', stderr: `stat: cannot statx '${LOG}': No such file or directory\n`, truncated: false }) });
    const f = await failureOf(w.run());
    expect(f.kind).toBe('target_failed');
    expect(f.message).toBe(`stat of ${LOG} on host local exited 1: stat: cannot statx '${LOG}': No such file or directory; nothing was truncated`);
    expect(f.details).toMatchObject({ exitCode: 1, tail: expect.stringMatching(/No such file/) });
    expect(w.runner.calls).toEqual([logSizeArgv(LOG)]);
  });

  it('fails as target_failed when truncate fails, saying the log was not emptied', async () => {
    const w = world({ answer: (argv) => (argv[0] === 'stat' ? ok('regular file 10\n') : { exitCode: 1, stdout: '', stderr: "truncate: cannot open 'x' for writing: Read-only file system\n", truncated: false }) });
    const f = await failureOf(w.run());
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/^truncate of .* on host local exited 1: truncate: cannot open 'x' for writing: Read-only file system; the log was not emptied$/);
    expect(f.details.exitCode).toBe(1);
  });

  it('refuses a symlink planted at the log path (truncate would follow it), before truncating', async () => {
    const w = world({ answer: () => ok('symbolic link 11\n') });
    const f = await failureOf(w.run());
    expect(f.kind).toBe('target_failed');
    expect(f.message).toMatch(/is not a regular file \(stat: "symbolic link 11"\); nothing was truncated$/);
    expect(w.runner.calls).toEqual([logSizeArgv(LOG)]);
  });

  it('refuses output of stat that is no size, before truncating', async () => {
    const w = world({ answer: () => ok('') });
    expect((await failureOf(w.run())).kind).toBe('target_failed');
    expect(w.runner.calls).toEqual([logSizeArgv(LOG)]);
  });

  it('wraps both commands in timeout -s KILL on a remote host', async () => {
    const w = world();
    Object.assign(w.runner, { remote: true });
    await w.run();
    expect(w.runner.calls).toEqual([['timeout', '-s', 'KILL', '15', ...logSizeArgv(LOG)], ['timeout', '-s', 'KILL', '30', ...truncateLogArgv(LOG)]]);
  });
});

describe('truncate_container_log summary and target', () => {
  it('says what was emptied, how much, and that the history is gone', () => {
    // One line: the path, the exact bytes and the note itself are in the data.
    expect(summarizeTruncate({ host: 'local', container: 'web-1', logPath: LOG, bytesFreed: 2_097_152, note: HISTORY_NOTE }))
      .toBe('local/web-1: emptied its Docker log, 2 MiB freed; its earlier history is gone (see note)');
  });

  it('targets host/name, as the other container tools do', () => {
    expect(truncateContainerLog.target({ host: 'local', container: '/web-1' } as never, {} as never, {} as never)).toBe('local/web-1');
  });
});
