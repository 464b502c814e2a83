import { describe, expect, it } from 'vitest';
import { FrameDecoder, LineSplitter, readLogStream, redactLogLines, type Frame, type LogStream } from '../../src/adapters/docker-logs.js';
import { redactArgv } from '../../src/adapters/docker-view.js';

function frame(stream: LogStream, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream === 'stderr' ? 2 : 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function* chunks(buf: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const muxed = Buffer.concat([frame('stdout', 'one\ntw'), frame('stderr', 'err ünïcode\n'), frame('stdout', 'o\r\n'), frame('stderr', 'tail')]);

describe('FrameDecoder', () => {
  it('splits frames whose headers and payloads are cut anywhere', () => {
    for (const size of [1, 3, 7, 8, 9, 64]) {
      const d = new FrameDecoder();
      const frames: Frame[] = [];
      for (let i = 0; i < muxed.length; i += size) frames.push(...d.push(muxed.subarray(i, i + size)));
      const joined = (s: LogStream) => Buffer.concat(frames.filter((f) => f.stream === s).map((f) => f.data)).toString();
      expect(joined('stdout'), `chunk ${size}`).toBe('one\ntwo\r\n');
      expect(joined('stderr'), `chunk ${size}`).toBe('err ünïcode\ntail');
      expect(d.leftover()).toHaveLength(0);
    }
  });

  it('passes a stream that is not multiplexed through whole, as stdout', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from('plain text, no headers\n'))).toEqual([{ stream: 'stdout', data: Buffer.from('plain text, no headers\n') }]);
    expect(d.push(Buffer.from('more'))).toEqual([{ stream: 'stdout', data: Buffer.from('more') }]);
  });
});

describe('LineSplitter', () => {
  it('joins a line across frames of its stream, keeps a multi-byte character cut by a frame, and flushes the last line', () => {
    const s = new LineSplitter();
    const e = Buffer.from('é');
    s.push({ stream: 'stdout', data: Buffer.concat([Buffer.from('caf'), e.subarray(0, 1)]) });
    s.push({ stream: 'stderr', data: Buffer.from('boom\n') });
    s.push({ stream: 'stdout', data: Buffer.concat([e.subarray(1), Buffer.from('\nlast')]) });
    s.end();
    expect(s.lines).toEqual([{ stream: 'stderr', text: 'boom' }, { stream: 'stdout', text: 'café' }, { stream: 'stdout', text: 'last' }]);
  });
});

describe('redactLogLines', () => {
  it('hides every line of a PEM private key, per stream, without a BEGIN marker a later pass would swallow text after', () => {
    const out = redactLogLines([
      { stream: 'stdout', text: 'key: -----BEGIN EC PRIVATE KEY-----' },
      { stream: 'stderr', text: 'unrelated error' },
      { stream: 'stdout', text: 'MHcCAQEEIBody' },
      { stream: 'stdout', text: '-----END EC PRIVATE KEY-----' },
      { stream: 'stdout', text: 'after the key token=abc' },
    ]);
    expect(out.map((l) => l.text)).toEqual(['key: [REDACTED] (private key)', 'unrelated error', '[REDACTED]', '[REDACTED]', 'after the key token=[REDACTED]']);
  });

  it('hides a key whose BEGIN is before the window: every line of its stream up to END', () => {
    const out = redactLogLines([
      { stream: 'stdout', text: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7' },
      { stream: 'stderr', text: 'a stderr line stays' },
      { stream: 'stdout', text: 'Zm9vYmFy' },
      { stream: 'stdout', text: '-----END PRIVATE KEY-----' },
      { stream: 'stdout', text: 'served' },
    ]);
    expect(out.map((l) => l.text)).toEqual(['[REDACTED]', 'a stderr line stays', '[REDACTED]', '[REDACTED]', 'served']);
  });

  it('hides a line that is only a long base64 run, and leaves a hex digest', () => {
    const out = redactLogLines([
      { stream: 'stdout', text: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7+/x=' },
      { stream: 'stdout', text: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    ]);
    expect(out.map((l) => l.text)).toEqual(['[REDACTED]', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']);
  });

  it('hides the rest of a stream whose key never ends', () => {
    const out = redactLogLines([{ stream: 'stdout', text: '-----BEGIN PRIVATE KEY-----' }, { stream: 'stdout', text: 'MIIBody' }]);
    expect(out.map((l) => l.text)).toEqual(['[REDACTED] (private key)', '[REDACTED]']);
  });
});

describe('readLogStream', () => {
  it('demultiplexes into lines tagged with their stream', async () => {
    const r = await readLogStream(chunks(muxed, 5), false, 1 << 20);
    expect(r).toEqual({
      lines: [{ stream: 'stdout', text: 'one' }, { stream: 'stderr', text: 'err ünïcode' }, { stream: 'stdout', text: 'two' }, { stream: 'stderr', text: 'tail' }],
      bytesRead: muxed.length,
      readCapped: false,
    });
  });

  it('reads a TTY log as it is, all stdout', async () => {
    const r = await readLogStream(chunks(Buffer.from('a\r\nb\r\n'), 2), true, 1 << 20);
    expect(r.lines).toEqual([{ stream: 'stdout', text: 'a' }, { stream: 'stdout', text: 'b' }]);
  });

  it('stops at the byte cap and keeps the text of the frame it cut', async () => {
    const big = Buffer.concat([frame('stdout', 'first line\n'), frame('stderr', 'second line is long\n')]);
    const cap = 19 + 8 + 6;
    const r = await readLogStream(chunks(big, 4), false, cap);
    expect(r).toEqual({ lines: [{ stream: 'stdout', text: 'first line' }, { stream: 'stderr', text: 'second' }], bytesRead: cap, readCapped: true });
  });
});

describe('redactArgv', () => {
  it('hides the value after a flag that names a secret, and secrets inside arguments', () => {
    expect(redactArgv(['app', '--password', 'hunter2', '--db-url=postgres://u:pw@db/x', '-v', 'x'])).toEqual([
      'app', '--password', '[REDACTED]', '--db-url=postgres://u:[REDACTED]@db/x', '-v', 'x',
    ]);
  });
});
