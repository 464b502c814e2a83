import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { installFakeNvidiaSmi, type FakeNvidiaSmi, type FakeNvidiaSmiOptions } from './support/nvidia-smi.js';

const exec = promisify(execFile);
const GPU_QUERY = '--query-gpu=index,name,uuid,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw';
const APPS_QUERY = '--query-compute-apps=gpu_uuid,pid,process_name,used_memory';
const CSV = '--format=csv,noheader,nounits';

const installed: FakeNvidiaSmi[] = [];
function fake(opts: FakeNvidiaSmiOptions): FakeNvidiaSmi {
  const f = installFakeNvidiaSmi(opts);
  installed.push(f);
  return f;
}

/** Runs `nvidia-smi` by name through PATH, as the adapter will; never throws. */
async function smi(f: FakeNvidiaSmi, ...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec('nvidia-smi', args, { env: { ...process.env, PATH: f.pathEnv } });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

const TWO_GPUS: FakeNvidiaSmiOptions = {
  gpus: [
    { utilization: 97, memoryUsed: 40_000, temperature: 71, powerDraw: 612.5 },
    { name: 'NVIDIA A100-SXM4-80GB', uuid: 'GPU-11111111-2222-3333-4444-555555555555', memoryTotal: 81920, powerDraw: null },
  ],
  processes: [{ gpu: 0, pid: 4242, name: '/usr/bin/python3', usedMemory: 39_500 }],
};

describe('fake nvidia-smi', () => {
  afterAll(() => {
    for (const f of installed) f.remove();
  });

  it('answers the GPU query with only the asked fields, in order, in CSV', async () => {
    const f = fake(TWO_GPUS);
    const { code, stdout } = await smi(f, GPU_QUERY, CSV);
    expect(code).toBe(0);
    const uuid0 = f.state().gpus[0]!.uuid;
    expect(stdout).toBe(
      `0, NVIDIA H100 80GB HBM3, ${uuid0}, 97, 40000, 81559, 71, 612.50\n`
      + '1, NVIDIA A100-SXM4-80GB, GPU-11111111-2222-3333-4444-555555555555, 0, 0, 81920, 32, [N/A]\n',
    );
    expect(uuid0).toMatch(/^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('prints a header and units unless told noheader,nounits', async () => {
    const f = fake(TWO_GPUS);
    const { stdout } = await smi(f, '--query-gpu=memory.used,utilization.gpu,power.draw,temperature.gpu', '--format=csv', '-i', '0');
    expect(stdout).toBe('memory.used [MiB], utilization.gpu [%], power.draw [W], temperature.gpu\n40000 MiB, 97 %, 612.50 W, 71\n');
  });

  it('lists compute processes with the GPU uuid they run on', async () => {
    const f = fake(TWO_GPUS);
    const { stdout } = await smi(f, APPS_QUERY, CSV);
    expect(stdout).toBe(`${f.state().gpus[0]!.uuid}, 4242, /usr/bin/python3, 39500\n`);
    const header = await smi(f, APPS_QUERY, '--format=csv');
    expect(header.stdout.split('\n')[0]).toBe('gpu_uuid, pid, process_name, used_gpu_memory [MiB]');
  });

  it('prints nothing for the process query when no process runs', async () => {
    const f = fake({ gpus: [{}] });
    expect(await smi(f, APPS_QUERY, CSV)).toEqual({ code: 0, stdout: '' });
  });

  it('records the argv of every call', async () => {
    const f = fake(TWO_GPUS);
    await smi(f, GPU_QUERY, CSV);
    await smi(f, '--gpu-reset', '-i', '1');
    expect(f.calls()).toEqual([[GPU_QUERY, CSV], ['--gpu-reset', '-i', '1']]);
  });

  it('resets an idle GPU with the real success message', async () => {
    const f = fake(TWO_GPUS);
    expect(await smi(f, '--gpu-reset', '-i', '1')).toEqual({ code: 0, stdout: 'GPU 00000000:2A:00.0 was successfully reset.\n' });
    expect(f.state().gpus[1]!.resets).toBe(1);
  });

  it('refuses to reset a GPU that compute processes use, like the real one', async () => {
    const f = fake(TWO_GPUS);
    const { code, stdout } = await smi(f, '--gpu-reset', '-i', '0');
    expect(code).toBe(255);
    expect(stdout).toContain('GPU 00000000:18:00.0: In use by another client');
    expect(stdout).toContain('1 device is currently being used by one or more other processes');
    expect(f.state().gpus[0]!.resets).toBe(0);
  });

  it('follows state changed between calls', async () => {
    const f = fake(TWO_GPUS);
    f.setState({ processes: [] });
    expect((await smi(f, '--gpu-reset', '-i', '0')).code).toBe(0);
    f.setState({ resetExitCode: 3 });
    expect(await smi(f, '-r', '-i', '0')).toEqual({ code: 3, stdout: 'Resetting GPU 00000000:18:00.0 is not supported.\n' });
  });

  it('fails like a machine without a driver when it has no GPUs', async () => {
    const f = fake({ gpus: [] });
    const { code, stdout } = await smi(f, GPU_QUERY, CSV);
    expect(code).toBe(9);
    expect(stdout).toMatch(/^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
  });

  it('rejects a field nvidia-smi does not know', async () => {
    const f = fake(TWO_GPUS);
    expect(await smi(f, '--query-gpu=index,cuda_version', CSV)).toEqual({ code: 2, stdout: 'Field "cuda_version" is not a valid field to query.\n\n' });
  });

  it('answers No devices were found for an index it does not have', async () => {
    const f = fake(TWO_GPUS);
    expect(await smi(f, GPU_QUERY, CSV, '-i', '7')).toEqual({ code: 6, stdout: 'No devices were found\n' });
  });
});
