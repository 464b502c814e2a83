// Reading a container's log: Docker's 8-byte frame headers (non-TTY containers), lines per stream,
// a byte cap on what is read, and redaction line by line, PEM blocks spanning lines included:
// raw log text never leaves the adapter.
import { REDACTED, redactText } from '../shared/redact.js';

export type LogStream = 'stdout' | 'stderr';
export type StreamChoice = 'both' | LogStream;

export interface LogLine {
  stream: LogStream;
  /** Already redacted. */
  text: string;
}

export interface LogsOptions {
  /** Last N lines (Docker applies it per container, before our filters). */
  tail: number;
  sinceUnixSeconds?: number;
  timestamps: boolean;
  stream?: StreamChoice;
  /** Stop reading after this many bytes (default DEFAULT_MAX_READ_BYTES). */
  maxReadBytes?: number;
  signal?: AbortSignal;
}

export interface ContainerLogs {
  /** TTY containers have one merged stream; every line is tagged stdout. */
  tty: boolean;
  lines: LogLine[];
  bytesRead: number;
  /** The read stopped at maxReadBytes: the lines are the oldest part of the requested tail. */
  readCapped: boolean;
}

export const DEFAULT_MAX_READ_BYTES = 8 * 1024 * 1024;

export interface Frame {
  stream: LogStream;
  data: Buffer;
}

/**
 * Splits Docker's multiplexed log stream: each frame is [type, 0, 0, 0, size (uint32 BE)] + payload,
 * type 0 stdin, 1 stdout, 2 stderr. Chunks may cut a header or a payload anywhere.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private raw = false;

  push(chunk: Buffer): Frame[] {
    if (this.raw) return [{ stream: 'stdout', data: chunk }];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const type = this.pending[0]!;
      if (type > 2 || this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        // Not a frame header: the stream is not multiplexed after all. Pass the rest through whole.
        this.raw = true;
        frames.push({ stream: 'stdout', data: this.pending });
        this.pending = Buffer.alloc(0);
        return frames;
      }
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      frames.push({ stream: type === 2 ? 'stderr' : 'stdout', data: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }

  /** Bytes of a frame cut off by the end of the stream (or by our read cap). */
  leftover(): Buffer {
    return this.pending;
  }
}

/** Reassembles lines per stream; a line is emitted, in arrival order, when its newline arrives. */
export class LineSplitter {
  private readonly partial: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] };
  readonly lines: Array<{ stream: LogStream; text: string }> = [];

  push({ stream, data }: Frame): void {
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
      this.emit(stream, [...this.partial[stream], data.subarray(start, nl)]);
      this.partial[stream] = [];
      start = nl + 1;
    }
    if (start < data.length) this.partial[stream].push(data.subarray(start));
  }

  /** Flushes unterminated last lines. */
  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream].length > 0) this.emit(stream, this.partial[stream]);
      this.partial[stream] = [];
    }
  }

  private emit(stream: LogStream, parts: Buffer[]): void {
    // Decoding whole lines, not chunks, keeps a multi-byte character cut by a frame intact.
    this.lines.push({ stream, text: Buffer.concat(parts).toString('utf8').replace(/\r$/, '') });
  }
}

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/;
const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/;

/** A line that is nothing but a long base64 run (a PEM body line, a key): hex-only digests are left. */
const BASE64_LINE = /^\s*(?=[A-Za-z0-9+/]*[g-zG-Z+/])[A-Za-z0-9+/]{40,}={0,2}\s*$/;

/**
 * redactText on each line, plus what no single line shows, whatever the window: the body of a PEM
 * private key spans lines, so every line from BEGIN to END (or to the end of the log) is hidden,
 * per stream; an END whose BEGIN lies before the window hides every earlier line of its stream in
 * the window; and a line that is only a long base64 run is hidden on its own.
 */
export function redactLogLines(lines: ReadonlyArray<{ stream: LogStream; text: string }>): LogLine[] {
  const cutOff = keyTailsCutByWindow(lines);
  const inKey: Record<LogStream, boolean> = { stdout: false, stderr: false };
  return lines.map(({ stream, text }, i) => {
    if (i <= cutOff[stream]) return { stream, text: REDACTED };
    if (inKey[stream]) {
      if (PEM_END.test(text)) inKey[stream] = false;
      return { stream, text: REDACTED };
    }
    const begin = text.search(PEM_BEGIN);
    if (begin !== -1 && !PEM_END.test(text.slice(begin))) {
      inKey[stream] = true;
      // Not redactText's own "-----BEGIN ... [REDACTED]": a later pass over the whole tool text would
      // read that as an unterminated key and hide everything after it, end-of-log marker included.
      return { stream, text: `${redactText(text.slice(0, begin))}${REDACTED} (private key)` };
    }
    if (BASE64_LINE.test(text)) return { stream, text: REDACTED };
    return { stream, text: redactText(text) };
  });
}

/** Per stream, the index of an END line whose BEGIN is not in the window (-1 when none). */
function keyTailsCutByWindow(lines: ReadonlyArray<{ stream: LogStream; text: string }>): Record<LogStream, number> {
  const cut: Record<LogStream, number> = { stdout: -1, stderr: -1 };
  const seenBegin: Record<LogStream, boolean> = { stdout: false, stderr: false };
  lines.forEach(({ stream, text }, i) => {
    if (seenBegin[stream] || cut[stream] !== -1) return;
    const begin = text.search(PEM_BEGIN);
    const end = text.search(PEM_END);
    if (end !== -1 && (begin === -1 || end < begin)) cut[stream] = i;
    else if (begin !== -1) seenBegin[stream] = true;
  });
  return cut;
}

/** Reads `source` to its end or to `maxBytes`, demultiplexing unless the container has a TTY. */
export async function readLogStream(source: AsyncIterable<Buffer | string>, tty: boolean, maxBytes: number): Promise<Omit<ContainerLogs, 'tty'>> {
  const decoder = new FrameDecoder();
  const splitter = new LineSplitter();
  let bytesRead = 0;
  let readCapped = false;
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (bytesRead + chunk.length > maxBytes) {
      chunk = chunk.subarray(0, maxBytes - bytesRead);
      readCapped = true;
    }
    bytesRead += chunk.length;
    for (const frame of tty ? [{ stream: 'stdout' as const, data: chunk }] : decoder.push(chunk)) splitter.push(frame);
    // Leaving the loop destroys the response, so Docker stops sending.
    if (readCapped) break;
  }
  // A payload cut by the cap is still text worth showing; its header is already consumed.
  if (!tty && decoder.leftover().length > 8) splitter.push({ stream: decoder.leftover()[0] === 2 ? 'stderr' : 'stdout', data: decoder.leftover().subarray(8) });
  splitter.end();
  return { lines: redactLogLines(splitter.lines), bytesRead, readCapped };
}
