// update_container_resources' pure parts: Docker's size notation, the limits a call asks for, and
// the bounds that keep a model from granting a container the whole host.
import { describe, expect, it } from 'vitest';
import type { ContainerResources } from '../../src/adapters/docker-types.js';
import { boundsProblem, describeResources, nextResources, parseSize } from '../../src/tools/container-resources.js';

const MiB = 1024 ** 2;
const CUR: ContainerResources = { memoryBytes: 64 * MiB, memorySwapBytes: 128 * MiB, nanoCpus: 1e9, pidsLimit: 100 };

describe('parseSize', () => {
  it.each<[string, number | undefined]>([
    ['512m', 512 * MiB], ['2g', 2 * 1024 * MiB], ['2G', 2 * 1024 * MiB], ['64k', 64 * 1024], ['1048576', MiB], ['1.5g', 1.5 * 1024 * MiB], ['512mb', 512 * MiB],
    ['', undefined], ['-1m', undefined], ['1t', undefined], ['m', undefined], ['1 m', undefined], ['9'.repeat(30), undefined],
  ])('%s -> %s', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });
});

describe('nextResources', () => {
  it('keeps swap as far above memory as it was when only memory is raised', () => {
    expect(nextResources(CUR, { memory: '128m' })).toEqual({ ...CUR, memoryBytes: 128 * MiB, memorySwapBytes: 192 * MiB });
  });

  it('takes swap as given, and leaves every field not given alone', () => {
    expect(nextResources(CUR, { memory: '128m', memorySwap: '128m' })).toEqual({ ...CUR, memoryBytes: 128 * MiB, memorySwapBytes: 128 * MiB });
    expect(nextResources(CUR, { cpus: 1.5 })).toEqual({ ...CUR, nanoCpus: 1.5e9 });
    expect(nextResources(CUR, { pidsLimit: 200 })).toEqual({ ...CUR, pidsLimit: 200 });
  });
});

describe('boundsProblem', () => {
  it.each<[string, Partial<ContainerResources>, { maxMemory?: string; maxCpus?: number; maxPids?: number } | null, RegExp | undefined]>([
    ['doubling memory without maxima', { memoryBytes: 128 * MiB, memorySwapBytes: 192 * MiB }, null, undefined],
    ['four times is the most without maxima', { memoryBytes: 256 * MiB, memorySwapBytes: 320 * MiB }, null, undefined],
    ['more than four times without maxima', { memoryBytes: 257 * MiB, memorySwapBytes: 321 * MiB }, null, /^memory: more than 4 times/],
    ['above the inventory maximum', { memoryBytes: 1024 * MiB, memorySwapBytes: 1088 * MiB }, { maxMemory: '512m' }, /^memory: above this service's maximum/],
    ['up to the inventory maximum, past four times', { memoryBytes: 512 * MiB, memorySwapBytes: 576 * MiB }, { maxMemory: '512m' }, undefined],
    ['cpus above the maximum', { nanoCpus: 3e9 }, { maxCpus: 2 }, /^cpus: above/],
    ['pids above four times', { pidsLimit: 401 }, null, /^pidsLimit: more than 4 times/],
    ['swap below memory', { memoryBytes: 128 * MiB, memorySwapBytes: 96 * MiB }, null, /^memorySwap: must be at least memory/],
    ['lowering is always allowed', { memoryBytes: 32 * MiB, memorySwapBytes: 96 * MiB }, null, undefined],
  ])('%s', (_name, next, maxima, problem) => {
    const got = boundsProblem(CUR, { ...CUR, ...next }, maxima);
    if (problem) expect(got).toMatch(problem);
    else expect(got).toBeUndefined();
  });

  it('never sets a first limit, maxima or not: docker update cannot take it away again, so no rollback could undo it', () => {
    const free = { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, pidsLimit: null };
    expect(boundsProblem(free, { ...free, memoryBytes: 64 * MiB }, null)).toMatch(/has no limit now, and docker update cannot remove one again/);
    expect(boundsProblem(free, { ...free, memoryBytes: 64 * MiB }, { maxMemory: '1g' })).toMatch(/has no limit now/);
    expect(boundsProblem(free, { ...free, nanoCpus: 1e9 }, { maxCpus: 2 })).toMatch(/^cpus: the container has no limit/);
  });

  it('sets a first pids limit only under an inventory maximum: Docker can take that one away again', () => {
    const free = { memoryBytes: 0, memorySwapBytes: 0, nanoCpus: 0, pidsLimit: null };
    expect(boundsProblem(free, { ...free, pidsLimit: 100 }, null)).toMatch(/without resources maxima/);
    expect(boundsProblem(free, { ...free, pidsLimit: 100 }, { maxPids: 200 })).toBeUndefined();
  });
});

it('describes limits in MiB and CPUs, unlimited where there is none', () => {
  expect(describeResources(CUR)).toBe('memory 64MiB, memory+swap 128MiB, cpus 1, pids 100');
  expect(describeResources({ memoryBytes: 0, memorySwapBytes: -1, nanoCpus: 0, pidsLimit: null })).toBe('memory unlimited, memory+swap unlimited, cpus unlimited, pids unlimited');
});
