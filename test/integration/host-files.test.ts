// HostFiles for real: the local filesystem, the same machine as a remote host over a real sshd (SFTP),
// and a busybox container on the test dockerd (Docker's archive API), all reached through
// createAdapters as tools reach them. One contract: bytes and mode round-trip, symlinks are never
// written through, and every refusal is a ToolFailure naming where and what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chownSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAdapters, type Adapters } from '../../src/adapters/index.js';
import type { HostFiles } from '../../src/adapters/host-files.js';
import type { HostSpec } from '../../src/adapters/hosts.js';
import { silentLogger } from '../../src/log.js';
import { createContainer } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { freePort } from '../support/ports.js';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { failureOf } from '../support/failures.js';

let sshd: Sshd;
let dockerd: Dockerd;
let adapters: Adapters;

beforeAll(async () => {
  [sshd, dockerd] = await Promise.all([startSshd(), startDockerd()]);
  const known = join(tempDir('host-files'), 'known_hosts');
  writeFileSync(known, `${sshd.knownHostsLine}\n`);
  const hosts: HostSpec[] = [
    { name: 'local', docker: { kind: 'url', url: dockerd.dockerHost } },
    { name: 'remote', ssh: { address: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: known } },
  ];
  adapters = createAdapters(hosts, silentLogger);
  await createContainer(dockerd, 'files');
});

afterAll(async () => {
  await adapters?.close();
  await Promise.all([sshd?.stop(), dockerd?.stop()]);
});


const READ = { maxBytes: 64 * 1024 };
const text = (s: string): Buffer => Buffer.from(s, 'utf8');

// Both reach this machine's filesystem: "remote" is it seen through sshd on 127.0.0.1.
describe.each([
  ['local', 'on host local'],
  ['remote', 'on host remote'],
])('files on host %s', (host, where) => {
  const files = (): HostFiles => adapters.files(host);

  it('writes a new file with the given mode and reads back its bytes and mode', async () => {
    const path = join(tempDir('hf'), 'site.conf');
    const body = Buffer.from([0, 1, 2, 255, ...text('server { listen 80; }\n')]);
    await files().write(path, body, { mode: 0o640 });
    expect(readFileSync(path)).toEqual(body);
    expect(statSync(path).mode & 0o7777).toBe(0o640);
    expect(await files().read(path, READ)).toEqual({ content: body, mode: 0o640 });
  });

  it('gives a new file mode 0644 when none is given, whatever the umask', async () => {
    const path = join(tempDir('hf'), 'default.conf');
    await files().write(path, text('x\n'), {});
    expect(statSync(path).mode & 0o7777).toBe(0o644);
  });

  it('replaces an existing file by renaming a new one over it, keeping its owner and leaving no temp file', async () => {
    const dir = tempDir('hf');
    const path = join(dir, 'nginx.conf');
    writeFileSync(path, 'old\n', { mode: 0o600 });
    chownSync(path, 1234, 4321);
    const inodeBefore = statSync(path).ino;
    await files().write(path, text('new\n'), { mode: 0o644 });
    const st = statSync(path);
    expect(readFileSync(path, 'utf8')).toBe('new\n');
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1234, 4321, 0o644]);
    expect(st.ino).not.toBe(inodeBefore);
    expect(readdirSync(dir)).toEqual(['nginx.conf']);
  });

  it('refuses to write through a symlink, leaving the link and its target untouched', async () => {
    const dir = tempDir('hf');
    writeFileSync(join(dir, 'real.conf'), 'real\n');
    symlinkSync('real.conf', join(dir, 'link.conf'));
    const f = await failureOf(files().write(join(dir, 'link.conf'), text('evil\n'), {}));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toBe(`${join(dir, 'link.conf')} ${where} is a symbolic link (to "real.conf"); name the file it points to instead`);
    expect(readFileSync(join(dir, 'real.conf'), 'utf8')).toBe('real\n');
    expect(lstatSync(join(dir, 'link.conf')).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['link.conf', 'real.conf']);
  });

  it('refuses to read through a symlink', async () => {
    const dir = tempDir('hf');
    writeFileSync(join(dir, 'real.conf'), 'real\n');
    symlinkSync(join(dir, 'real.conf'), join(dir, 'link.conf'));
    const f = await failureOf(files().read(join(dir, 'link.conf'), READ));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(/is a symbolic link \(to ".*real\.conf"\)/);
  });

  it('refuses to read a missing file as invalid_input naming the host and path', async () => {
    const path = join(tempDir('hf'), 'missing.conf');
    const f = await failureOf(files().read(path, READ));
    expect([f.kind, f.message]).toEqual(['invalid_input', `no file ${path} ${where}`]);
  });

  it('refuses a file larger than maxBytes', async () => {
    const path = join(tempDir('hf'), 'big.conf');
    writeFileSync(path, 'x'.repeat(101));
    const f = await failureOf(files().read(path, { maxBytes: 100 }));
    expect([f.kind, f.message]).toEqual(['invalid_input', `file ${path} ${where} is larger than 100 bytes, the most that may be read`]);
    expect((await files().read(path, { maxBytes: 101 })).content.length).toBe(101);
  });

  it('refuses to read or replace a directory', async () => {
    const dir = tempDir('hf');
    mkdirSync(join(dir, 'conf.d'));
    expect((await failureOf(files().read(join(dir, 'conf.d'), READ))).message).toMatch(/is a directory, not a regular file/);
    expect((await failureOf(files().write(join(dir, 'conf.d'), text('x'), {}))).message).toMatch(/is a directory, not a regular file/);
  });

  it('refuses to write into a directory that does not exist', async () => {
    const path = join(tempDir('hf'), 'nope', 'a.conf');
    const f = await failureOf(files().write(path, text('x'), {}));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch(/^directory .*\/nope does not exist on host/);
  });

  it.each([
    ['a relative path', 'etc/nginx/nginx.conf', /is not absolute/],
    ['a .. segment', '/etc/nginx/../shadow', /contains a "\.\." segment/],
    ['a NUL byte', '/etc/nginx/a\0b', /contains a NUL byte/],
    ['a directory path', '/etc/nginx/', /names a directory/],
  ])('refuses %s before touching anything', async (_what, path, message) => {
    for (const f of [await failureOf(files().read(path, READ)), await failureOf(files().write(path, text('x'), {}))]) {
      expect(f.kind).toBe('invalid_input');
      expect(f.message).toMatch(message);
    }
  });

  it('refuses a mode with more than permission bits', async () => {
    const f = await failureOf(files().write(join(tempDir('hf'), 'a.conf'), text('x'), { mode: 0o4755 }));
    expect(f.kind).toBe('invalid_input');
  });

  it('reports a write the filesystem refuses as target_failed', async () => {
    const dir = tempDir('hf-ro');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
    try {
      const f = await failureOf(files().write(join(dir, 'a.conf'), text('x'), {}));
      expect(f.kind).toBe('target_failed');
      expect(f.message).toContain(`${join(dir, 'a.conf')} ${where}`);
    } finally {
      execFileSync('umount', [dir]);
    }
  });
});

describe('files over SSH', () => {
  it('reports an unreachable host as unavailable, naming it', async () => {
    const port = await freePort();
    const a = createAdapters([{ name: 'gone', ssh: { address: '127.0.0.1', port, user: 'root', keyPath: sshd.privateKeyPath, connectTimeoutMs: 2_000 } }], silentLogger);
    try {
      const f = await failureOf(a.files('gone').read('/etc/hostname', READ));
      expect(f.kind).toBe('unavailable');
      expect(f.message).toMatch(/^SSH to host gone during /);
    } finally {
      await a.close();
    }
  });

  it('refuses a host with neither local access nor an SSH login', () => {
    const a = createAdapters([{ name: 'bare' }], silentLogger);
    expect(() => a.files('bare')).toThrow(/host "bare" has no SSH login in the inventory/);
  });
});

describe('files in a container', () => {
  const files = (): HostFiles => adapters.files('local', 'files');
  const where = 'in container files on host local';
  const inside = async (script: string): Promise<string> => {
    const res = await adapters.docker('local').exec('files', ['sh', '-c', script], { timeoutMs: 10_000 });
    expect(res.exitCode, res.stderr).toBe(0);
    return res.stdout;
  };

  it('writes a new file with the given mode, owned by root, and reads it back', async () => {
    await inside('mkdir -p /etc/nginx/conf.d');
    await files().write('/etc/nginx/conf.d/new.conf', text('server { listen 8080; }\n'), { mode: 0o640 });
    expect(await inside('cat /etc/nginx/conf.d/new.conf; stat -c "%a %u:%g" /etc/nginx/conf.d/new.conf')).toBe('server { listen 8080; }\n640 0:0\n');
    expect(await files().read('/etc/nginx/conf.d/new.conf', READ)).toEqual({ content: text('server { listen 8080; }\n'), mode: 0o640 });
  });

  it('replaces an existing file, keeping its owner', async () => {
    await inside('mkdir -p /srv && echo old > /srv/app.conf && chown 1234:4321 /srv/app.conf && chmod 600 /srv/app.conf');
    expect(await files().read('/srv/app.conf', READ)).toEqual({ content: text('old\n'), mode: 0o600 });
    await files().write('/srv/app.conf', text('new\n'), {});
    expect(await inside('cat /srv/app.conf; stat -c "%a %u:%g" /srv/app.conf; ls -a /srv')).toBe('new\n644 1234:4321\n.\n..\napp.conf\n');
  });

  it('refuses to write through a symlink, leaving its target untouched', async () => {
    await inside('mkdir -p /lnk && echo real > /lnk/real.conf && ln -sf /lnk/real.conf /lnk/link.conf');
    const f = await failureOf(files().write('/lnk/link.conf', text('evil\n'), {}));
    expect([f.kind, f.message]).toEqual(['invalid_input', `/lnk/link.conf ${where} is a symbolic link (to "/lnk/real.conf"); name the file it points to instead`]);
    expect((await failureOf(files().read('/lnk/link.conf', READ))).kind).toBe('invalid_input');
    expect(await inside('cat /lnk/real.conf; readlink /lnk/link.conf')).toBe('real\n/lnk/real.conf\n');
  });

  it('refuses a missing file as invalid_input naming the container and path', async () => {
    const f = await failureOf(files().read('/etc/missing.conf', READ));
    expect([f.kind, f.message]).toEqual(['invalid_input', `no file /etc/missing.conf ${where}`]);
  });

  it('refuses a file larger than maxBytes, and a directory', async () => {
    await inside('mkdir -p /big && head -c 5000 /dev/zero > /big/f');
    expect((await failureOf(files().read('/big/f', { maxBytes: 4999 }))).message).toBe(`file /big/f ${where} is larger than 4999 bytes, the most that may be read`);
    expect((await files().read('/big/f', { maxBytes: 5000 })).content).toEqual(Buffer.alloc(5000));
    expect((await failureOf(files().read('/big', READ))).message).toBe(`/big ${where} is a directory, not a regular file`);
    expect((await failureOf(files().write('/big', text('x'), {}))).kind).toBe('invalid_input');
  });

  it('refuses to write into a directory that does not exist', async () => {
    const f = await failureOf(files().write('/no/such/dir/a.conf', text('x'), {}));
    expect([f.kind, f.message]).toEqual(['invalid_input', `directory /no/such/dir does not exist ${where}`]);
  });

  it('refuses a path with a .. segment', async () => {
    expect((await failureOf(files().read('/etc/../etc/passwd', READ))).message).toMatch(/contains a "\.\." segment/);
  });

  it('refuses an unknown container as invalid_input', async () => {
    const f = await failureOf(adapters.files('local', 'no-such').read('/etc/passwd', READ));
    expect([f.kind, f.message]).toEqual(['invalid_input', 'no container "no-such" on host local; list_containers shows the valid names']);
  });
});
