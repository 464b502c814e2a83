// Resolving host names to adapters: what a tool is told when a host cannot do what it asks.
import { describe, expect, it } from 'vitest';
import { createAdapters } from '../../src/adapters/index.js';
import { InputError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { thrownFailure } from '../support/failures.js';

const HOSTS = [
  { name: 'local', docker: { kind: 'url' as const, url: 'unix:///var/run/docker.sock' } },
  { name: 'gpu-1', ssh: { address: '127.0.0.1', port: 22, user: 'ops', keyPath: '/nonexistent' } },
  { name: 'dockerless' },
];


describe('createAdapters', () => {
  it('lists the host names it was given', () => {
    expect(createAdapters(HOSTS, silentLogger).hosts()).toEqual(['local', 'gpu-1', 'dockerless']);
  });

  it('refuses an unknown host as invalid_input, listing the known ones', () => {
    const f = thrownFailure(() => createAdapters(HOSTS, silentLogger).commands('web-9'));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toBe('unknown host "web-9"; known hosts: local, gpu-1, dockerless');
  });

  it('refuses Docker on a host without a Docker endpoint', () => {
    expect(thrownFailure(() => createAdapters(HOSTS, silentLogger).docker('gpu-1')).message).toMatch(/no Docker endpoint/);
  });

  it('refuses commands on a remote host without an SSH login', () => {
    expect(thrownFailure(() => createAdapters(HOSTS, silentLogger).commands('dockerless')).message).toMatch(/no SSH login/);
  });

  it('runs commands on "local" locally and on other hosts over SSH, without connecting yet', () => {
    const a = createAdapters(HOSTS, silentLogger);
    expect(a.commands('local').host).toBe('local');
    expect(a.commands('gpu-1').host).toBe('gpu-1');
    expect(a.metrics('gpu-1').host).toBe('gpu-1');
  });

  it('refuses a host defined twice', () => {
    expect(() => createAdapters([HOSTS[0]!, HOSTS[0]!], silentLogger)).toThrow(InputError);
  });
});
