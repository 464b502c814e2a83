// A busybox image for the test dockerd, built from the host's static busybox (Debian package
// busybox-static), since no image can be pulled. The rootfs is a tar written in memory: /bin/busybox,
// one symlink per applet, the usual empty dirs, and an /etc/passwd. No Cmd: containers give their own.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

export const BUSYBOX = '/bin/busybox';
export const BUSYBOX_IMAGE = 'warden-busybox:test';

interface Entry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  data?: Buffer;
  target?: string;
}

let cached: Buffer | undefined;

/** The image's rootfs as an uncompressed tar (about 2 MB), built once per process. */
export function busyboxRootfsTar(): Buffer {
  if (cached) return cached;
  let busybox: Buffer;
  let applets: string[];
  try {
    busybox = readFileSync(BUSYBOX);
    applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => /^[\w.[-]+$/.test(a));
  } catch (err) {
    throw new Error(`cannot build the busybox test image from ${BUSYBOX} (install busybox-static): ${String(err)}`);
  }
  if (hasInterpreter(busybox)) {
    throw new Error(`${BUSYBOX} is dynamically linked and cannot run alone in an image: install busybox-static`);
  }
  const entries: Entry[] = [
    ...['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'usr', 'var', 'var/run'].map((name) => ({ name, type: 'dir' as const, mode: 0o755 })),
    { name: 'tmp', type: 'dir', mode: 0o1777 },
    { name: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
    ...applets.filter((a) => a !== 'busybox').map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, mode: 0o777, target: 'busybox' })),
    { name: 'usr/bin', type: 'symlink', mode: 0o777, target: '../bin' },
    { name: 'sbin', type: 'symlink', mode: 0o777, target: 'bin' },
    { name: 'etc/passwd', type: 'file', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n') },
    { name: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
  ];
  cached = tar(entries);
  return cached;
}

/** Imports the busybox rootfs into the dockerd on `socketPath` as `tag`; resolves to the image id. */
export function importBusyboxImage(socketPath: string, tag = BUSYBOX_IMAGE): Promise<string> {
  const [repo, version = 'latest'] = tag.split(':');
  const body = busyboxRootfsTar();
  const path = `/images/create?fromSrc=-&repo=${encodeURIComponent(repo ?? '')}&tag=${encodeURIComponent(version)}`;
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method: 'POST', path, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => { text += chunk; });
        res.on('end', () => {
          // A JSON stream: {"status":"sha256:..."} on success, {"errorDetail":...,"error":"..."} on failure.
          const messages = text.split('\n').filter((l) => l.trim() !== '').map((l) => {
            try { return JSON.parse(l) as { status?: string; error?: string }; } catch { return { error: l }; }
          });
          const failed = messages.find((m) => m.error !== undefined);
          const id = messages.map((m) => m.status).find((s) => s?.startsWith('sha256:'));
          if (res.statusCode !== 200 || failed || id === undefined) {
            reject(new Error(`importing ${tag} failed (HTTP ${res.statusCode}): ${failed?.error ?? text}`));
          } else resolve(id);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A ustar archive of `entries`, owned by root, mtime 0. */
function tar(entries: Entry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const h = Buffer.alloc(512);
    const name = e.type === 'dir' ? `${e.name}/` : e.name;
    if (name.length > 100 || (e.target?.length ?? 0) > 100) throw new Error(`tar: name too long: ${name}`);
    h.write(name, 0, 100, 'utf8');
    octal(h, 100, 8, e.mode);
    octal(h, 108, 8, 0); // uid
    octal(h, 116, 8, 0); // gid
    octal(h, 124, 12, data.length);
    octal(h, 136, 12, 0); // mtime
    h.write(' '.repeat(8), 148, 8, 'ascii'); // checksum is computed with its own field as spaces
    h.write(e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2', 156, 1, 'ascii');
    if (e.target !== undefined) h.write(e.target, 157, 100, 'utf8');
    h.write('ustar\u000000', 257, 8, 'ascii');
    h.write('root', 265, 32, 'ascii');
    h.write('root', 297, 32, 'ascii');
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
    blocks.push(h, data);
    if (data.length % 512 !== 0) blocks.push(Buffer.alloc(512 - (data.length % 512)));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function octal(h: Buffer, offset: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'ascii');
}

/** Whether an ELF executable names a dynamic loader (a PT_INTERP program header). */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = elf[4] === 2;
  const le = elf[5] === 1;
  const u16 = (o: number): number => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const phoff = is64 ? Number(le ? elf.readBigUInt64LE(0x20) : elf.readBigUInt64BE(0x20)) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 <= elf.length && u32(at) === 3) return true;
  }
  return false;
}
