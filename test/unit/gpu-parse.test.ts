// nvidia-smi CSV reading and the "no GPU" rule, on text in the real program's format.
import { describe, expect, it } from 'vitest';
import {
  computeAppsArgv, gpuQueryArgv, noGpuReason, parseComputeAppsCsv, parseGpuCsv,
} from '../../src/tools/gpu.js';
import { ToolFailure } from '../../src/errors.js';

const H100 = 'GPU-5eed0000-0000-a000-b000-000000feed00';
const A100 = 'GPU-11111111-2222-3333-4444-555555555555';
const res = (exitCode: number, stdout: string, stderr = '') => ({ exitCode, stdout, stderr, truncated: false });

describe('nvidia-smi argv', () => {
  it('queries exactly the GPU fields warden reads, as bare CSV', () => {
    expect(gpuQueryArgv()).toEqual([
      'nvidia-smi',
      '--query-gpu=index,name,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw',
      '--format=csv,noheader,nounits',
    ]);
  });

  it('queries compute processes by GPU uuid', () => {
    expect(computeAppsArgv()).toEqual(['nvidia-smi', '--query-compute-apps=gpu_uuid,pid,process_name,used_memory', '--format=csv,noheader,nounits']);
  });
});

describe('parseGpuCsv', () => {
  it('reads one row per GPU with numbers as numbers', () => {
    expect(parseGpuCsv(`0, NVIDIA H100 80GB HBM3, ${H100}, 97, 40000, 81559, 71, 612.50\n`)).toEqual([{
      index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: H100, utilizationPercent: 97,
      memoryUsedMiB: 40000, memoryTotalMiB: 81559, temperatureC: 71, powerDrawW: 612.5,
    }]);
  });

  it('turns [N/A] and [Not Supported] into null', () => {
    const [g] = parseGpuCsv(`1, NVIDIA A100-SXM4-80GB, ${A100}, [Not Supported], 0, 81920, 32, [N/A]\n`);
    expect(g).toMatchObject({ utilizationPercent: null, powerDrawW: null, memoryUsedMiB: 0 });
  });

  it('keeps a GPU name that itself contains a comma', () => {
    const [g] = parseGpuCsv(`0, Tesla T4, rev 2, ${H100}, 5, 100, 15360, 40, 27.1\n`);
    expect(g).toMatchObject({ name: 'Tesla T4, rev 2', uuid: H100, powerDrawW: 27.1 });
  });

  it('refuses a line it cannot read rather than inventing values', () => {
    expect(() => parseGpuCsv('Failed to initialize NVML: Driver/library version mismatch\n')).toThrow(ToolFailure);
  });

  it('reads nothing from empty output', () => {
    expect(parseGpuCsv('\n')).toEqual([]);
  });
});

// Captured from a real H100 while a CUDA context held 1.5 GiB.
const REAL_GPU_BUSY = '0, NVIDIA H100 80GB HBM3, GPU-997b6e6a-4ec9-046f-d06e-072fb17657d7, 0, 1551, 81559, 38, 123.57\n';
const REAL_APPS_BUSY = 'GPU-997b6e6a-4ec9-046f-d06e-072fb17657d7, 453, python3, 1542\n';

describe('real nvidia-smi output', () => {
  it('reads the GPU line of a real H100', () => {
    expect(parseGpuCsv(REAL_GPU_BUSY)).toEqual([{
      index: 0, name: 'NVIDIA H100 80GB HBM3', uuid: 'GPU-997b6e6a-4ec9-046f-d06e-072fb17657d7',
      utilizationPercent: 0, memoryUsedMiB: 1551, memoryTotalMiB: 81559, temperatureC: 38, powerDrawW: 123.57,
    }]);
  });

  it('reads the compute process of a real H100, and nothing from its idle (empty) output', () => {
    expect(parseComputeAppsCsv(REAL_APPS_BUSY)).toEqual([
      { gpuUuid: 'GPU-997b6e6a-4ec9-046f-d06e-072fb17657d7', pid: 453, name: 'python3', usedMemoryMiB: 1542 },
    ]);
    expect(parseComputeAppsCsv('')).toEqual([]);
  });
});

describe('parseComputeAppsCsv', () => {
  it('reads gpu uuid, pid, name and memory', () => {
    expect(parseComputeAppsCsv(`${H100}, 4242, /usr/bin/python3, 39500\n`)).toEqual([
      { gpuUuid: H100, pid: 4242, name: '/usr/bin/python3', usedMemoryMiB: 39500 },
    ]);
  });

  it('keeps a process name containing ", "', () => {
    expect(parseComputeAppsCsv(`${H100}, 7, /opt/a, b/train, 12\n`)[0]).toMatchObject({ pid: 7, name: '/opt/a, b/train', usedMemoryMiB: 12 });
  });

  it('keeps a process whose pid nvidia-smi cannot see (inside a container), with an unknown pid', () => {
    expect(parseComputeAppsCsv(`${H100}, [N/A], [N/A], 100\n`)).toEqual([{ gpuUuid: H100, pid: null, name: '?', usedMemoryMiB: 100 }]);
  });

  it('keeps a line it cannot read as a process on an unknown GPU', () => {
    expect(parseComputeAppsCsv('garbage without commas\n')).toEqual([
      { gpuUuid: '*', pid: null, name: '(unreadable nvidia-smi line: garbage without commas)', usedMemoryMiB: null },
    ]);
  });
});

describe('noGpuReason', () => {
  it('treats a missing nvidia-smi (exit 127) as no GPU', () => {
    expect(noGpuReason(res(127, '', 'sh: 1: nvidia-smi: not found'))).toMatch(/not installed/);
  });

  it('treats the no-driver message (exit 9) as no GPU', () => {
    const said = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n";
    expect(noGpuReason(res(9, said))).toMatch(/no driver or device/);
  });

  it('treats "No devices were found" (exit 6) as no GPU', () => {
    expect(noGpuReason(res(6, 'No devices were found\n'))).toBeDefined();
  });

  it('does not hide other failures', () => {
    expect(noGpuReason(res(2, 'Invalid combination of input arguments.'))).toBeUndefined();
    expect(noGpuReason(res(0, '0, x, y, 1, 1, 1, 1, 1'))).toBeUndefined();
  });
});
