// One file inside a container through Docker's archive API (GET/PUT /containers/{id}/archive):
// a tar of exactly one entry each way. Never writes through a symlink; never runs a program in the container.
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { loadOnUse } from '../shared/load-on-use.js';
import type tar from 'tar-stream';
import { ToolFailure, errorMessage } from '../errors.js';
import type { DockerRequests } from './docker-failure.js';
import { checkedMode, checkedPath, notRegular, tooLarge, type HostFiles } from './host-files.js';

export interface ArchiveTarget {
  docker: Docker;
  host: string;
  ref: string;
  /** A fresh sequence for each read or write (the adapter's, knowing `ref`): only its first request's failure may say nothing reached Docker. */
  requests: () => DockerRequests;
}

interface Entry {
  header: tar.Headers;
  /** The bytes, when asked for, of a regular file within the cap. */
  content?: Buffer;
}

const KIND: Record<string, string> = { directory: 'a directory', fifo: 'a named pipe', link: 'a hard link', 'character-device': 'a device', 'block-device': 'a device' };

/** tar-stream (and its streams) is loaded with the first container file read or written, not with the Docker adapter. */
const loadTar = (): typeof tar => loadOnUse<typeof tar>('tar-stream');

/**
 * Files in one container. A write is Docker's extraction of a one-entry tar into the parent
 * directory: Docker removes the old file and then writes the new one, so unlike the host variants it
 * is NOT atomic: a reader in between can find the file missing or short.
 */
export function containerFiles(t: ArchiveTarget): HostFiles {
  const where = `in container ${t.ref} on host ${t.host}`;
  return {
    host: t.host,
    async read(path, opts) {
      const p = checkedPath(path, where);
      const requests = t.requests();
      const id = await containerId(t, requests, opts.signal);
      const entry = await archiveEntry(requests, t, id, p, opts.signal, opts.maxBytes);
      if (!entry) throw new ToolFailure('invalid_input', `no file ${p} ${where}`);
      refuseUnlessFile(entry.header, p, where);
      if (!entry.content) throw tooLarge(p, where, opts.maxBytes);
      return { content: entry.content, mode: (entry.header.mode ?? 0) & 0o7777 };
    },

    async write(path, content, opts) {
      const p = checkedPath(path, where);
      const mode = checkedMode(opts.mode, where);
      // The id, not the name: a rename between the two requests cannot switch containers.
      const requests = t.requests();
      const id = await containerId(t, requests, opts.signal);
      const old = await archiveEntry(requests, t, id, p, opts.signal);
      if (old) refuseUnlessFile(old.header, p, where);
      // Docker applies the entry's owner and mode; a new file belongs to root, as `docker cp` would leave it.
      const archive = await oneFileTar({ name: posix.basename(p), mode, uid: old?.header.uid ?? 0, gid: old?.header.gid ?? 0 }, content);
      const fail = requests.begin(`write ${p}`);
      try {
        await t.docker.getContainer(id).putArchive(archive, { path: posix.dirname(p), noOverwriteDirNonDir: 'true', abortSignal: opts.signal });
      } catch (err) {
        if (missingPath(err)) throw new ToolFailure('invalid_input', `directory ${posix.dirname(p)} does not exist ${where}`, {}, err);
        throw fail(err);
      }
    },
  };
}

async function containerId(t: ArchiveTarget, requests: DockerRequests, signal?: AbortSignal): Promise<string> {
  return (await requests.send('inspect', () => t.docker.getContainer(t.ref).inspect({ abortSignal: signal }))).Id;
}

/** Docker answers 404 both for an unknown container and for a missing path; only its words tell them apart. */
const missingPath = (err: unknown): boolean =>
  (err as { statusCode?: number }).statusCode === 404 && !/No such container:/i.test(errorMessage(err));

function refuseUnlessFile(h: tar.Headers, path: string, where: string): void {
  if (h.type === 'symlink') throw notRegular(path, where, 'a symbolic link', h.linkname ?? '?');
  if (h.type !== 'file') throw notRegular(path, where, KIND[h.type ?? ''] ?? 'a special file');
}

/**
 * The first entry of Docker's archive of `path` (Docker archives a symlink itself, not its target),
 * or undefined when the path does not exist. With `maxBytes`, a regular file's bytes come too
 * unless it is larger; either way the rest of the stream is dropped.
 */
async function archiveEntry(requests: DockerRequests, t: ArchiveTarget, id: string, path: string, signal?: AbortSignal, maxBytes?: number): Promise<Entry | undefined> {
  let archive: Readable;
  const fail = requests.begin(`read ${path}`);
  try {
    archive = (await t.docker.getContainer(id).getArchive({ path, abortSignal: signal })) as unknown as Readable;
  } catch (err) {
    if (missingPath(err)) return undefined;
    throw fail(err);
  }
  try {
    return await firstEntry(archive, maxBytes);
  } catch (err) {
    throw fail(err);
  }
}

function firstEntry(archive: Readable, maxBytes: number | undefined): Promise<Entry> {
  return new Promise((resolve, reject) => {
    const extract = loadTar().extract();
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      archive.unpipe(extract);
      archive.destroy();
      extract.destroy();
      fn();
    };
    extract.on('entry', (header: tar.Headers, body: Readable) => {
      if (header.type !== 'file' || maxBytes === undefined || (header.size ?? 0) > maxBytes) {
        settle(() => resolve({ header }));
        return;
      }
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.on('end', () => settle(() => resolve({ header, content: Buffer.concat(chunks) })));
    });
    extract.on('finish', () => settle(() => reject(new Error('Docker sent an empty archive'))));
    extract.on('error', (err: Error) => settle(() => reject(err)));
    archive.on('error', (err: Error) => settle(() => reject(err)));
    archive.pipe(extract);
  });
}

function oneFileTar(h: { name: string; mode: number; uid: number; gid: number }, content: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pack = loadTar().pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: Buffer) => chunks.push(c));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
    pack.entry({ ...h, type: 'file', size: content.length, mtime: new Date() }, content, (err) => (err ? reject(err) : pack.finalize()));
  });
}
