// Reading and replacing one file on a host: locally through node:fs, remotely over SFTP on the pooled
// SSH connection (the container variant is docker-archive.ts). Never writes through a symlink and
// never replaces a file in place: a temp file beside it is renamed over it.
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { SFTPWrapper, Stats as SftpStats } from 'ssh2';
import { ToolFailure } from '../errors.js';
import type { SshSpec } from './hosts.js';
import { sshFailure, type SshPool } from './ssh.js';

export interface HostFile {
  content: Buffer;
  /** Permission bits (mode & 0o7777). */
  mode: number;
}

export interface ReadFileOptions {
  maxBytes: number;
  signal?: AbortSignal;
}

export interface WriteFileOptions {
  /** Permission bits of the new file, 0 to 0o777 (default 0o644). */
  mode?: number;
  signal?: AbortSignal;
}

export interface HostFiles {
  readonly host: string;
  /**
   * The file's bytes and permission bits. A missing file, a symlink, anything but a regular file,
   * or a file larger than maxBytes is invalid_input naming the host (and container) and the path.
   */
  read(path: string, opts: ReadFileOptions): Promise<HostFile>;
  /**
   * Replaces an existing or new file, atomically where the medium allows (a temp file in the same
   * directory renamed over it), with the given mode and, for an existing file, its owner where
   * possible. A symlink at the path is refused as invalid_input: it is never written through.
   */
  write(path: string, content: Buffer, opts: WriteFileOptions): Promise<void>;
}

export const DEFAULT_FILE_MODE = 0o644;

/**
 * `where` reads as the end of a sentence: `on host web-1`, `in container nginx on host web-1`.
 * The path to act on: absolute, no NUL, no `..` segment, naming a file rather than a directory.
 * `.` segments and repeated slashes are collapsed; nothing else is rewritten.
 */
export function checkedPath(path: string, where: string): string {
  const shown = JSON.stringify(path.slice(0, 200));
  if (path.includes('\0')) throw new ToolFailure('invalid_input', `path ${shown} ${where} contains a NUL byte`);
  if (!path.startsWith('/')) throw new ToolFailure('invalid_input', `path ${shown} ${where} is not absolute; give the full path starting with /`);
  if (path.split('/').includes('..')) throw new ToolFailure('invalid_input', `path ${shown} ${where} contains a ".." segment; give the path without it`);
  const normal = posix.normalize(path);
  if (normal === '/' || path.endsWith('/')) throw new ToolFailure('invalid_input', `path ${shown} ${where} names a directory, not a file`);
  return normal;
}

/** Permission bits only: a configuration file never needs setuid, setgid or sticky bits. */
export function checkedMode(mode: number | undefined, where: string): number {
  const m = mode ?? DEFAULT_FILE_MODE;
  if (!Number.isInteger(m) || m < 0 || m > 0o777) {
    throw new ToolFailure('invalid_input', `mode ${String(mode)} for a file ${where} is not permission bits between 0 and 0o777`);
  }
  return m;
}

export const tooLarge = (path: string, where: string, maxBytes: number): ToolFailure =>
  new ToolFailure('invalid_input', `file ${path} ${where} is larger than ${maxBytes} bytes, the most that may be read`);

export const notRegular = (path: string, where: string, what: string, linkTarget?: string): ToolFailure =>
  new ToolFailure('invalid_input', linkTarget !== undefined
    ? `${path} ${where} is a symbolic link (to ${JSON.stringify(linkTarget.slice(0, 200))}); name the file it points to instead`
    : `${path} ${where} is ${what}, not a regular file`);

/** A name beside `path` that no one else picks: a crash leaves it behind, never a half-written `path`. */
export function tempPathFor(path: string): string {
  return posix.join(posix.dirname(path), `.${posix.basename(path)}.warden-${randomBytes(6).toString('hex')}.tmp`);
}

const cancelled = (path: string, where: string, action: string): ToolFailure =>
  new ToolFailure('unavailable', `${action} ${path} ${where} was cancelled; retry later`);

// The machine warden runs on.

function kindOf(st: Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'a device or special file';
}

/** Errors of node:fs, by code only: their messages carry paths and syscalls, not words for the model. */
function localFailure(err: unknown, where: string, action: 'read' | 'write', path: string, signal?: AbortSignal): ToolFailure {
  if (err instanceof ToolFailure) return err;
  if (signal?.aborted) return cancelled(path, where, action);
  const code = (err as { code?: string }).code ?? 'unknown error';
  switch (code) {
    case 'ENOENT':
      return action === 'read'
        ? new ToolFailure('invalid_input', `no file ${path} ${where}`, {}, err)
        : new ToolFailure('invalid_input', `directory ${posix.dirname(path)} does not exist ${where}`, {}, err);
    case 'ENOTDIR':
      return new ToolFailure('invalid_input', `a component of ${path} ${where} is not a directory`, {}, err);
    case 'EISDIR':
      return new ToolFailure('invalid_input', `${path} ${where} is a directory, not a regular file`, {}, err);
    case 'EACCES': case 'EPERM': case 'EROFS':
      return new ToolFailure('target_failed', `permission denied to ${action} ${path} ${where} (${code})`, {}, err);
    case 'ENOSPC': case 'EDQUOT':
      return new ToolFailure('target_failed', `no space left to write ${path} ${where} (${code})`, {}, err);
    default:
      return new ToolFailure('target_failed', `could not ${action} ${path} ${where} (${code})`, {}, err);
  }
}

async function readCapped(fh: FileHandle, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { bytesRead, buffer } = await fh.read({ buffer: Buffer.alloc(64 * 1024) });
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > maxBytes) return undefined;
    chunks.push(buffer.subarray(0, bytesRead));
  }
}

export function localHostFiles(host = 'local'): HostFiles {
  const where = `on host ${host}`;
  return {
    host,
    async read(path, opts) {
      const p = checkedPath(path, where);
      try {
        // O_NOFOLLOW: a symlink swapped in after any check still cannot be followed; O_NONBLOCK: a FIFO cannot hang us.
        const fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(async (err: unknown) => {
          if ((err as { code?: string }).code === 'ELOOP') throw notRegular(p, where, 'a symbolic link', await readlink(p).catch(() => '?'));
          throw err;
        });
        try {
          const st = await fh.stat();
          if (!st.isFile()) throw notRegular(p, where, kindOf(st));
          if (st.size > opts.maxBytes) throw tooLarge(p, where, opts.maxBytes);
          const content = await readCapped(fh, opts.maxBytes, opts.signal);
          if (!content) throw tooLarge(p, where, opts.maxBytes);
          return { content, mode: st.mode & 0o7777 };
        } finally {
          await fh.close();
        }
      } catch (err) {
        throw localFailure(err, where, 'read', p, opts.signal);
      }
    },

    async write(path, content, opts) {
      const p = checkedPath(path, where);
      const mode = checkedMode(opts.mode, where);
      const tmp = tempPathFor(p);
      let created = false;
      try {
        const old = await lstat(p).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'ENOENT') return undefined;
          throw err;
        });
        if (old?.isSymbolicLink()) throw notRegular(p, where, 'a symbolic link', await readlink(p).catch(() => '?'));
        if (old && !old.isFile()) throw notRegular(p, where, kindOf(old));
        opts.signal?.throwIfAborted();
        const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
        created = true;
        try {
          await fh.writeFile(content);
          await fh.chmod(mode); // open's mode passed through the umask
          // Keeping the owner needs privilege; without it the file belongs to warden's user, as any new file would.
          if (old) await fh.chown(old.uid, old.gid).catch(() => undefined);
          await fh.sync();
        } finally {
          await fh.close();
        }
        opts.signal?.throwIfAborted();
        await rename(tmp, p);
        created = false;
        await syncDir(posix.dirname(p));
      } catch (err) {
        if (created) await unlink(tmp).catch(() => undefined);
        throw localFailure(err, where, 'write', p, opts.signal);
      }
    },
  };
}

/** Makes the rename itself durable; a directory that cannot be opened for this is not an error. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY).catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined).finally(() => fh.close());
}

// A remote host over SFTP on its pooled SSH connection.

/** SFTP status codes (draft-ietf-secsh-filexfer-02), which ssh2 puts on `err.code`. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;
const UNSUPPORTED_EXTENSION = /does not support this extended request/;

function sftpFailure(err: unknown, host: string, where: string, action: 'read' | 'write', path: string, signal?: AbortSignal): ToolFailure {
  if (err instanceof ToolFailure) return err;
  if (signal?.aborted) return cancelled(path, where, action);
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'number') return sshFailure(err, host, `sftp ${action} ${path}`);
  if (code === SFTP_NO_SUCH_FILE) {
    return action === 'read'
      ? new ToolFailure('invalid_input', `no file ${path} ${where}`, {}, err)
      : new ToolFailure('invalid_input', `directory ${posix.dirname(path)} does not exist ${where}`, {}, err);
  }
  if (code === SFTP_PERMISSION_DENIED) return new ToolFailure('target_failed', `permission denied to ${action} ${path} ${where}`, {}, err);
  return new ToolFailure('target_failed', `could not ${action} ${path} ${where}: its SFTP server refused (SFTP status ${code})`, {}, err);
}

/** ssh2's callback API as promises; an unsupported extension throws synchronously, so that is caught too. */
function sftpCall<T = void>(fn: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      fn((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

function sftpKindOf(st: SftpStats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'a device or special file';
}

const lstatOrMissing = (sftp: SFTPWrapper, path: string): Promise<SftpStats | undefined> =>
  sftpCall<SftpStats>((cb) => sftp.lstat(path, cb)).catch((err: unknown) => {
    if ((err as { code?: unknown }).code === SFTP_NO_SUCH_FILE) return undefined;
    throw err;
  });

async function sftpReadCapped(sftp: SFTPWrapper, handle: Buffer, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buf = Buffer.alloc(32 * 1024);
    const n = await sftpCall<number>((cb) => sftp.read(handle, buf, 0, buf.length, total, (err, bytesRead) => cb(err, bytesRead)));
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > maxBytes) return undefined;
    chunks.push(buf.subarray(0, n));
  }
}

export function sftpHostFiles(pool: SshPool, host: string, spec: SshSpec): HostFiles {
  const where = `on host ${host}`;

  /** One SFTP session for one operation, inside the host's session slots; an abort ends the session. */
  async function withSftp<T>(signal: AbortSignal | undefined, fn: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    const release = await pool.sessionSlot(host);
    try {
      const sftp = await pool.open(host, spec, 'open sftp', (ssh) => ssh.requestSFTP());
      const end = (): void => sftp.end();
      signal?.addEventListener('abort', end, { once: true });
      try {
        return await fn(sftp);
      } finally {
        signal?.removeEventListener('abort', end);
        sftp.end();
      }
    } finally {
      release();
    }
  }

  return {
    host,
    async read(path, opts) {
      const p = checkedPath(path, where);
      try {
        return await withSftp(opts.signal, async (sftp) => {
          const st = await sftpCall<SftpStats>((cb) => sftp.lstat(p, cb));
          if (st.isSymbolicLink()) throw notRegular(p, where, 'a symbolic link', await sftpCall<string>((cb) => sftp.readlink(p, cb)).catch(() => '?'));
          if (!st.isFile()) throw notRegular(p, where, sftpKindOf(st));
          if (st.size > opts.maxBytes) throw tooLarge(p, where, opts.maxBytes);
          const handle = await sftpCall<Buffer>((cb) => sftp.open(p, 'r', cb));
          try {
            const content = await sftpReadCapped(sftp, handle, opts.maxBytes);
            if (!content) throw tooLarge(p, where, opts.maxBytes);
            return { content, mode: st.mode & 0o7777 };
          } finally {
            await sftpCall((cb) => sftp.close(handle, cb)).catch(() => undefined);
          }
        });
      } catch (err) {
        throw sftpFailure(err, host, where, 'read', p, opts.signal);
      }
    },

    async write(path, content, opts) {
      const p = checkedPath(path, where);
      const mode = checkedMode(opts.mode, where);
      try {
        await withSftp(opts.signal, async (sftp) => {
          const old = await lstatOrMissing(sftp, p);
          if (old?.isSymbolicLink()) throw notRegular(p, where, 'a symbolic link', await sftpCall<string>((cb) => sftp.readlink(p, cb)).catch(() => '?'));
          if (old && !old.isFile()) throw notRegular(p, where, sftpKindOf(old));
          const tmp = tempPathFor(p);
          const handle = await sftpCall<Buffer>((cb) => sftp.open(tmp, 'wx', { mode }, cb));
          try {
            await writeTemp(sftp, handle, content, mode, old);
            opts.signal?.throwIfAborted();
            await replaceWith(sftp, tmp, p, where);
          } catch (err) {
            await sftpCall((cb) => sftp.unlink(tmp, cb)).catch(() => undefined);
            throw err;
          }
        });
      } catch (err) {
        throw sftpFailure(err, host, where, 'write', p, opts.signal);
      }
    },
  };
}

async function writeTemp(sftp: SFTPWrapper, handle: Buffer, content: Buffer, mode: number, old: SftpStats | undefined): Promise<void> {
  try {
    if (content.length > 0) await sftpCall((cb) => sftp.write(handle, content, 0, content.length, 0, cb));
    await sftpCall((cb) => sftp.fchmod(handle, mode, cb)); // open's mode passed through sftp-server's umask
    if (old) await sftpCall((cb) => sftp.fchown(handle, old.uid, old.gid, cb)).catch(() => undefined);
    // fsync@openssh.com where offered: without it the rename may reach the disk before the data.
    await sftpCall((cb) => sftp.ext_openssh_fsync(handle, cb)).catch((err: unknown) => {
      if (!UNSUPPORTED_EXTENSION.test(String(err))) throw err;
    });
  } finally {
    await sftpCall((cb) => sftp.close(handle, cb)).catch(() => undefined);
  }
}

/**
 * posix-rename@openssh.com replaces the target in one step. Plain SFTP rename refuses an existing
 * target, and unlink-then-rename leaves a moment with no file at all, so without the extension the
 * write is refused (the temp file is removed and nothing changed).
 */
async function replaceWith(sftp: SFTPWrapper, tmp: string, path: string, where: string): Promise<void> {
  await sftpCall((cb) => sftp.ext_openssh_rename(tmp, path, cb)).catch((err: unknown) => {
    if (!UNSUPPORTED_EXTENSION.test(String(err))) throw err;
    throw new ToolFailure('target_failed',
      `the SFTP server ${where} does not offer posix-rename@openssh.com, so ${path} cannot be replaced atomically; nothing was changed`, {}, err);
  });
}
