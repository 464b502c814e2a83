// What a recreate may change on the way: the environment (order kept, values replaced in place)
// and the image's tag (never its repository).
import { describe, expect, it } from 'vitest';
import { amendEnv, amendPlan, isUntaggedRef, repositoryOf } from '../../src/adapters/docker-blueprint.js';

describe('amendEnv', () => {
  it.each<[string, string[], Record<string, string>, string[], string[]]>([
    ['replaces a value where it stood', ['A=1', 'B=2', 'C=3'], { B: 'two' }, [], ['A=1', 'B=two', 'C=3']],
    ['appends a new variable', ['A=1'], { NEW: 'x' }, [], ['A=1', 'NEW=x']],
    ['removes an unset one', ['A=1', 'B=2'], {}, ['A'], ['B=2']],
    ['keeps = inside values', ['URL=a=b'], { OTHER: 'c=d' }, [], ['URL=a=b', 'OTHER=c=d']],
    ['treats a name without = as a variable', ['FLAG', 'A=1'], { FLAG: 'on' }, [], ['FLAG=on', 'A=1']],
  ])('%s', (_what, env, set, unset, want) => {
    expect(amendEnv(env, set, unset)).toEqual(want);
  });
});

describe('repositoryOf', () => {
  it.each([
    ['busybox', 'busybox'], ['busybox:1.36', 'busybox'], ['shop/web:1.4', 'shop/web'],
    ['registry:5000/shop/web:1.4', 'registry:5000/shop/web'], ['registry:5000/shop/web', 'registry:5000/shop/web'],
    ['shop/web@sha256:abc', 'shop/web'], ['shop/web:1.4@sha256:abc', 'shop/web'],
  ])('%s -> %s', (ref, repo) => {
    expect(repositoryOf(ref)).toBe(repo);
  });
});

it('amends a copy of the create plan, leaving the one a rollback uses as it was', () => {
  const plan = { options: { Image: 'shop/web:1.4', Env: ['A=1'] }, extraNetworks: [] };
  const amended = amendPlan(plan, { image: 'shop/web:1.5', env: { set: { A: '2' }, unset: [] } });
  expect(amended.options).toMatchObject({ Image: 'shop/web:1.5', Env: ['A=2'] });
  expect(plan.options).toEqual({ Image: 'shop/web:1.4', Env: ['A=1'] });
});

it('drops what the container only had from its old image, so a new tag runs with its own command and ENV lines', () => {
  const plan = { options: { Image: 'shop/web:1.4', Cmd: ['web', '--v1.4'], WorkingDir: '/srv', Env: ['PATH=/usr/bin', 'APP_VERSION=1.4', 'MODE=prod'], Labels: { team: 'a' } }, extraNetworks: [] };
  const oldImage = { Cmd: ['web', '--v1.4'], WorkingDir: '/app', Env: ['PATH=/usr/bin', 'APP_VERSION=1.4'] };
  const amended = amendPlan(plan, { image: 'shop/web:1.5', labels: { 'warden.change': 'chg_1' } }, oldImage);
  // The image's Cmd and ENV lines go; what the container set itself (WorkingDir, MODE, its labels) stays.
  expect(amended.options).toEqual({ Image: 'shop/web:1.5', WorkingDir: '/srv', Env: ['MODE=prod'], Labels: { team: 'a', 'warden.change': 'chg_1' } });
});

it.each([
  ['busybox', true], ['busybox:1.36', false], ['registry:5000/shop/web', true], ['registry:5000/shop/web:2', false],
  ['sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', true], ['0123456789ab', true], ['shop/web@sha256:abc', true],
])('isUntaggedRef(%s) is %s: only repository:tag can be compared', (ref, untagged) => {
  expect(isUntaggedRef(ref)).toBe(untagged);
});
