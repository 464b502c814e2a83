// The TCP probe's address forms: host:port and [v6]:port, nothing else.
import { describe, expect, it } from 'vitest';
import { splitHostPort } from '../../src/adapters/probes.js';

describe('splitHostPort', () => {
  it.each([
    ['127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
    ['db.internal:5432', { host: 'db.internal', port: 5432 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['[fe80::1%eth0]:22', { host: 'fe80::1%eth0', port: 22 }],
  ])('reads %s', (text, parsed) => {
    expect(splitHostPort(text)).toEqual(parsed);
  });

  it.each(['127.0.0.1', '::1:80', 'host:0', 'host:65536', 'host:http', ':80', 'a b:80', 'http://host:80'])('refuses %s', (text) => {
    expect(splitHostPort(text)).toBeNull();
  });
});
