// gpu_reset's argv builders and the busy check, on values in nvidia-smi's own shapes.
import { describe, expect, it } from 'vitest';
import { busyMessage, gpuResetArgv, processesOn } from '../../src/tools/gpu-reset.js';
import { gpuQueryArgv, type GpuProcess } from '../../src/tools/gpu.js';

const GPU0 = 'GPU-5eed0000-0000-a000-b000-000000feed00';
const GPU1 = 'GPU-5eed1111-0001-a001-b001-000000feed01';
const proc = (gpuUuid: string, pid: number, usedMemoryMiB: number | null, name = 'python3'): GpuProcess => ({ gpuUuid, pid, name, usedMemoryMiB });

describe('gpu_reset argv', () => {
  it('resets exactly one GPU by index', () => {
    expect(gpuResetArgv(1)).toEqual(['nvidia-smi', '--gpu-reset', '-i', '1']);
    expect(gpuResetArgv(63)).toEqual(['nvidia-smi', '--gpu-reset', '-i', '63']);
  });

  it('queries one GPU by index with the same fields as gpu_status', () => {
    expect(gpuQueryArgv(3)).toEqual([...gpuQueryArgv(), '-i', '3']);
    expect(gpuQueryArgv(0).slice(-2)).toEqual(['-i', '0']);
  });
});

describe('processesOn', () => {
  it('keeps the processes of that GPU only, largest memory first', () => {
    const all = [proc(GPU0, 10, 100), proc(GPU1, 11, 5000), proc(GPU0, 12, 9000), proc(GPU0, 13, null)];
    expect(processesOn(GPU0, all).map((p) => p.pid)).toEqual([12, 10, 13]);
    expect(processesOn(GPU1, all).map((p) => p.pid)).toEqual([11]);
    expect(processesOn('GPU-none', all)).toEqual([]);
    const unreadable = { gpuUuid: '*', pid: null, name: '(unreadable)', usedMemoryMiB: null };
    expect(processesOn('GPU-none', [...all, unreadable])).toEqual([unreadable]);
  });
});

describe('busyMessage', () => {
  it('names every process with pid, name and memory, and says nothing was reset', () => {
    const text = busyMessage('gpu-worker', 1, [proc(GPU1, 4242, 39_500, '/usr/bin/python3'), proc(GPU1, 77, null, 'a, b')]);
    expect(text).toMatch(/^GPU 1 on host gpu-worker is in use by 2 compute processes: /);
    expect(text).toContain('pid 4242 /usr/bin/python3 (39500 MiB); pid 77 a, b (memory n/a)');
    expect(text).toMatch(/Nothing was reset/);
  });

  it('lists the first ten and counts the rest', () => {
    const many = Array.from({ length: 13 }, (_, i) => proc(GPU0, 100 + i, 10));
    const text = busyMessage('local', 0, many);
    expect(text).toContain('pid 109 python3');
    expect(text).not.toContain('pid 110 ');
    expect(text).toContain(', and 3 more.');
  });

  it('redacts a secret in a process name', () => {
    expect(busyMessage('local', 0, [proc(GPU0, 1, 1, 'train --api_key=abcdef123456')])).not.toContain('abcdef123456');
  });
});
