// Slack's v0 request signature: Slack's published example, the window either way, the spellings a
// timestamp or a signature must not get through in, and a body with multi-byte characters.
import { describe, expect, it } from 'vitest';
import { checkSlackSignature, slackSignature } from '../../src/server/slack-signature.js';

// Slack's worked example (api.slack.com/authentication/verifying-requests-from-slack).
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TS = '1531420618';
const BODY = 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const AT = Number(TS) * 1000;

describe('checkSlackSignature', () => {
  it("accepts Slack's published example at the time it was signed", () => {
    expect(slackSignature(SECRET, TS, BODY)).toBe(SIG);
    expect(checkSlackSignature(SECRET, BODY, { signature: SIG, timestamp: TS }, AT)).toEqual({ ok: true, timestamp: Number(TS), signature: SIG.slice(3) });
  });

  it.each([
    ['300 s old', 300_000, true],
    ['301 s old', 301_000, false],
    ['300 s ahead', -300_000, true],
    ['301 s ahead', -301_000, false],
  ])('a request signed %s is accepted: %s', (_what, skewMs, ok) => {
    const r = checkSlackSignature(SECRET, BODY, { signature: SIG, timestamp: TS }, AT + skewMs);
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r).toMatchObject({ why: 'stale' });
  });

  it.each([
    ['a fraction', `${TS}.0`], ['an exponent', '1.531420618e9'], ['a sign', `+${TS}`], ['spaces', ` ${TS}`], ['hex', '0x5B4796CA'], ['empty', ''],
  ])('refuses a timestamp written as %s', (_what, timestamp) => {
    expect(checkSlackSignature(SECRET, BODY, { signature: SIG, timestamp }, AT)).toMatchObject({ ok: false, why: timestamp === '' ? 'missing' : 'bad_timestamp' });
  });

  it.each([
    ['another body', SIG, `${BODY}&x=1`],
    ['upper-case hex', SIG.toUpperCase().replace('V0=', 'v0='), BODY],
    ['a v1 prefix', SIG.replace('v0=', 'v1='), BODY],
    ['a short signature', SIG.slice(0, 40), BODY],
    ['two signatures joined', `${SIG},${SIG}`, BODY],
    ['no signature', '', BODY],
  ])('refuses %s', (_what, signature, body) => {
    expect(checkSlackSignature(SECRET, body, { signature, timestamp: TS }, AT)).toMatchObject({ ok: false });
  });

  it('refuses a signature made with another secret', () => {
    expect(checkSlackSignature(SECRET, BODY, { signature: slackSignature('not-the-secret', TS, BODY), timestamp: TS }, AT)).toMatchObject({ ok: false, why: 'bad_signature' });
  });

  it('signs the UTF-8 bytes of a body with multi-byte characters', () => {
    const body = 'payload={"text":"rédémarrer 日本 🚀"}';
    const sig = slackSignature(SECRET, TS, body);
    expect(checkSlackSignature(SECRET, body, { signature: sig, timestamp: TS }, AT).ok).toBe(true);
    // The same characters read as Latin-1 are other bytes: a verifier that did so would refuse Slack.
    expect(checkSlackSignature(SECRET, Buffer.from(body, 'utf8').toString('latin1'), { signature: sig, timestamp: TS }, AT).ok).toBe(false);
  });
});
