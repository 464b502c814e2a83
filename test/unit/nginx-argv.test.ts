import { describe, expect, it } from 'vitest';
import { AbsolutePath, nginxOutput, nginxTestArgv } from '../../src/tools/nginx.js';

describe('nginx -t argv', () => {
  it('is plain `nginx -t` without a target path', () => {
    expect(nginxTestArgv({})).toEqual(['nginx', '-t']);
  });

  it('puts -p and -c before -t, each path its own argument', () => {
    expect(nginxTestArgv({ prefix: '/srv/nginx', confPath: '/srv/nginx/nginx.conf' })).toEqual(['nginx', '-p', '/srv/nginx', '-c', '/srv/nginx/nginx.conf', '-t']);
  });
});

describe('AbsolutePath', () => {
  it.each(['/etc/nginx/nginx.conf', '/srv/a_b-c.d/x@1+2=3,4~'])('accepts %s', (p) => {
    expect(AbsolutePath.safeParse(p).success).toBe(true);
  });

  it.each([
    ['a relative path', 'nginx.conf'],
    ['an option', '-s'],
    ['a parent segment', '/etc/nginx/../shadow'],
    ['shell syntax', '/etc/$(id)'],
    ['a space', '/etc/my nginx.conf'],
    ['a newline', '/etc/nginx\n.conf'],
  ])('refuses %s', (_what, p) => {
    expect(AbsolutePath.safeParse(p).success).toBe(false);
  });
});

describe('nginxOutput', () => {
  it('joins stderr and stdout, redacts secrets and caps the length', () => {
    const out = nginxOutput('', `nginx: [emerg] unknown directive "password=hunter22" in /x:3\n${'y'.repeat(5000)}`);
    expect(out.output).not.toContain('hunter22');
    expect(out.output.length).toBe(4000);
    expect(out.truncated).toBe(true);
  });
});
