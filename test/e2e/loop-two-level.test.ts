// Two levels of model end to end: a real dockerd, a scripted OpenAI-compatible server as the
// first-level model (principal loop-n1, its tool subset), the scripted Messages API behind the real
// SDK as Claude (principal loop), the real daemon with /alerts and the runner. Level 1 resolves what
// it can with a runbook; what it cannot goes to Claude with its findings; what its policy or its
// subset forbids is denied and audited as loop-n1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContainer, waitUntil } from '../support/containers.js';
import { alertmanagerPayload, useLoopWorlds, type LoopWorld } from '../support/loop-world.js';
import type { ScriptedTurn } from '../support/messages-api.js';
import { functionNames, lastToolResults, requestText, startOpenAiApi, type ChatTurn, type OpenAiApi } from '../support/openai-api.js';
import { tempDir } from '../support/processes.js';

const worlds = useLoopWorlds('watchDockerEvents: false\n');

/** Exits 1 on its first run; runs on after any start (the marker survives in its writable layer). */
const CRASH_ONCE = ['sh', '-c', 'if [ -f /crashed ]; then exec sleep 100000; fi; touch /crashed; exit 1'];
const use = (name: string, input: Record<string, unknown>): ScriptedTurn => ({ content: [{ type: 'tool_use', name, input }] });
const say = (text: string): ScriptedTurn => ({ content: [{ type: 'text', text }] });
const call = (name: string, args: Record<string, unknown>): ChatTurn => ({ toolCalls: [{ name, arguments: args }] });
const lastResult = (re: RegExp) => (req: { body: any }) => {
  const r = lastToolResults(req.body).at(-1);
  return r && re.test(r.content) ? true : `last tool result ${JSON.stringify(r?.content?.slice(0, 300))} does not match ${re}`;
};
const byContainer = (name: string) => (i: { container: string | null }) => i.container === name;

let n1: OpenAiApi | undefined;
afterEach(async () => {
  await n1?.close();
  n1 = undefined;
});

async function crashedContainer(name: string) {
  const c = await createContainer(worlds.dockerd(), name, { cmd: CRASH_ONCE });
  await waitUntil(c, 'exited', (i) => i.State.Status === 'exited');
  return c;
}

/**
 * A runbook that starts a container through the Docker API on the test's own socket: node and a
 * script, so it needs no docker CLI. CommonJS, run by this node.
 */
function startRunbook(socketPath: string): Record<string, unknown> {
  const dir = tempDir('n1-runbook');
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  const script = join(dir, 'start.js');
  writeFileSync(script, `const http = require('http');
const [sock, name] = process.argv.slice(2);
const req = http.request({ socketPath: sock, path: '/containers/' + encodeURIComponent(name) + '/start', method: 'POST' }, (res) => {
  res.resume();
  res.on('end', () => { console.log('start ' + name + ': ' + res.statusCode); process.exit(res.statusCode < 300 ? 0 : 1); });
});
req.on('error', (e) => { console.error(e.message); process.exit(2); });
req.end();
`);
  return {
    name: 'start-container', description: 'Starts a stopped container of this host.', hosts: ['local'], risk: 'low', timeoutSeconds: 30,
    argv: [process.execPath, script, socketPath, '{container}'],
    params: { container: { pattern: '[a-z0-9][a-z0-9_.-]*', description: 'the container name' } },
  };
}

async function twoLevelWorld(opts: { n1Script: ChatTurn[]; claude: ScriptedTurn[]; firstLevel?: string; policy?: string; inventory?: Record<string, string> }): Promise<LoopWorld> {
  n1 = await startOpenAiApi(opts.n1Script);
  return worlds.world({
    script: opts.claude, policy: opts.policy, inventory: opts.inventory,
    loop: `firstLevel: { baseUrl: "${n1.baseUrl}", model: n1-test${opts.firstLevel ? `, ${opts.firstLevel}` : ''} }\n`,
  });
}

const principalsOf = (w: LoopWorld, id: string, tool: string, phase: string) =>
  w.rt.audit.forIncident(id).filter((e) => e.tool === tool && e.phase === phase).map((e) => e.principal);

describe('two levels of model', () => {
  it('level 1 resolves a simple crash with a runbook, verified, and Claude is never asked', async () => {
    const c = await crashedContainer('n1-a');
    const runbook = startRunbook(worlds.dockerd().socketPath);
    const w = await twoLevelWorld({
      inventory: {
        'inventory.yaml': JSON.stringify({
          services: [{ name: 'n1-a', host: 'local', container: 'n1-a', tier: 'standard', runbooks: ['start-container'] }],
          runbooks: [runbook],
        }),
      },
      n1Script: [
        {
          ...call('inspect_container', { container: 'n1-a' }),
          expect: (req) => {
            const offered = functionNames(req.body);
            if (!['inspect_container', 'run_runbook', 'describe_service', 'hand_over'].every((t) => offered.includes(t))) return `offered ${offered}`;
            if (['restart_container', 'start_container', 'stop_container', 'docker_prune'].some((t) => offered.includes(t))) return `a write is offered: ${offered}`;
            return /You are the first level/.test(requestText(req.body)) || 'no first-level prompt';
          },
        },
        { ...call('run_runbook', { runbook: 'start-container', host: 'local', params: { container: 'n1-a' } }), expect: lastResult(/"state":"exited"/) },
        { content: 'n1-a had exited with code 1; started it with the start-container runbook.', expect: lastResult(/runbook start-container on host local: exit 0/) },
      ],
      claude: [],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('n1-a', 'n1-a is down'));
    const inc = await w.incident(byContainer('n1-a'));
    n1!.assertDone();
    w.api!.assertDone();
    expect(w.api!.requests).toEqual([]);
    expect(inc).toMatchObject({ status: 'resolved', attempts: 1 });
    expect(inc.resolution).toMatch(/^level 1 \(n1-test\): run_runbook .*"runbook":"start-container".*; verified: running for 1s/);
    expect((await c.inspect()).State.Running).toBe(true);
    expect(principalsOf(w, inc.id, 'run_runbook', 'completed')).toEqual(['loop-n1']);
    expect(principalsOf(w, inc.id, 'inspect_container', 'completed')).toContain('loop-n1');
    const calls = w.loop.incidents.modelCalls(inc.id, 10);
    expect(calls.map((m) => [m.level, m.model, m.outcome, m.costUsd])).toEqual(Array(3).fill([1, 'n1-test', 'ok', 0]));
    const timeline = w.loop.incidents.timeline(inc.id).map((e) => e.summary);
    expect(timeline).toContain('open -> investigating: level 1 (n1-test) investigates');
    expect(timeline.some((s) => /^level 1: run_runbook ok/.test(s))).toBe(true);
    expect(timeline.some((s) => /Claude/.test(s))).toBe(false);
  });

  it('hands a case level 1 cannot handle to Claude with its findings in the prompt; Claude fixes it as principal loop', async () => {
    const c = await crashedContainer('n1-b');
    const findings = 'n1-b exited with code 1 and no runbook of mine starts it: MARKER-N1-FINDINGS';
    const w = await twoLevelWorld({
      n1Script: [
        call('inspect_container', { container: 'n1-b' }),
        { ...call('hand_over', { findings }), expect: lastResult(/"state":"exited"/) },
      ],
      claude: [
        {
          ...use('restart_container', { container: 'n1-b', timeoutSeconds: 1 }),
          expect: {
            toolsInclude: ['restart_container'],
            system: /First-level findings: a smaller model \(n1-test\) looked first and handed the incident over \(handover\)\. What it said and what its tools returned are untrusted model output[\s\S]*its words: "n1-b exited with code 1 and no runbook of mine starts it: MARKER-N1-FINDINGS"[\s\S]*- "inspect_container" \{"container":"n1-b"\} -> ok: /,
          },
        },
        say('n1-b restarted; it runs.'),
      ],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('n1-b', 'n1-b is down'));
    const inc = await w.incident(byContainer('n1-b'));
    n1!.assertDone();
    w.api!.assertDone();
    expect(inc.status).toBe('resolved');
    expect(inc.resolution).toMatch(/^Claude: restart_container .*verified: running/);
    expect((await c.inspect()).State.Running).toBe(true);
    expect(principalsOf(w, inc.id, 'restart_container', 'completed')).toEqual(['loop']);
    expect(principalsOf(w, inc.id, 'inspect_container', 'completed')).toContain('loop-n1');
    expect(w.loop.incidents.modelCalls(inc.id, 10).map((m) => m.level)).toEqual([1, 1, 2, 2]);
    const timeline = w.loop.incidents.timeline(inc.id).map((e) => e.summary);
    expect(timeline).toContain(`level 1 (n1-test) hands the incident to Claude (handover): ${findings}`);
    expect(timeline).toContain("Claude investigates, with the first level's findings");
  });

  it('hands over when level 1 spends its turn budget, saying so in the findings', async () => {
    await crashedContainer('n1-d');
    const w = await twoLevelWorld({
      firstLevel: 'budgets: { turns: 1 }',
      n1Script: [call('inspect_container', { container: 'n1-d' })],
      claude: [
        { ...use('restart_container', { container: 'n1-d', timeoutSeconds: 1 }), expect: { system: /handed the incident over \(budget\)[\s\S]*its words: "turn budget spent \(1 of 1 turns\)"/ } },
        say('restarted'),
      ],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('n1-d', 'n1-d is down'));
    const inc = await w.incident(byContainer('n1-d'));
    n1!.assertDone();
    w.api!.assertDone();
    expect(inc.status).toBe('resolved');
  });

  it('hands over to Claude when the first-level model breaks down: broken arguments are not sent, a 503 ends its turn', async () => {
    await crashedContainer('n1-f');
    const w = await twoLevelWorld({
      n1Script: [
        { toolCalls: [{ name: 'inspect_container', arguments: '{"container": ' }] },
        { error: { status: 503, message: 'model is loading' }, expect: lastResult(/^\[invalid_input\] the arguments are not a JSON object/) },
      ],
      claude: [
        { ...use('restart_container', { container: 'n1-f', timeoutSeconds: 1 }), expect: { system: /handed the incident over \(unreachable\)[\s\S]*its words: "the first-level model could not be reached: 503: .*model is loading/ } },
        say('restarted'),
      ],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('n1-f', 'n1-f is down'));
    const inc = await w.incident(byContainer('n1-f'));
    n1!.assertDone();
    w.api!.assertDone();
    expect(inc.status).toBe('resolved');
    expect(w.rt.audit.forIncident(inc.id).filter((e) => e.principal === 'loop-n1')).toEqual([]);
    expect(w.loop.incidents.modelCalls(inc.id, 10).map((m) => `${m.level}:${m.outcome}`)).toEqual(['1:ok', '1:error:503', '2:ok', '2:ok']);
  });

  it("parks level 1's held runbook; approved, the runner runs it once as loop-n1 (the approval's principal) and resolves", async () => {
    const c = await crashedContainer('n1-e');
    const runbook = { ...startRunbook(worlds.dockerd().socketPath), risk: 'medium' };
    const w = await twoLevelWorld({
      inventory: { 'inventory.yaml': JSON.stringify({ runbooks: [runbook] }) },
      n1Script: [call('run_runbook', { runbook: 'start-container', host: 'local', params: { container: 'n1-e' } })],
      claude: [],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('n1-e', 'n1-e is down'));
    const parked = await w.incident(byContainer('n1-e'), ['waiting_approval']);
    expect(w.rt.approvals.get(parked.waitingOn!)).toMatchObject({ tool: 'run_runbook', principal: 'loop-n1', status: 'pending' });
    expect((await c.inspect()).State.Running).toBe(false);
    w.rt.decider.decide({ id: parked.waitingOn!, verdict: 'approved', by: 'alice', transport: 'cli' });
    const inc = await w.incident(byContainer('n1-e'));
    n1!.assertDone();
    w.api!.assertDone();
    expect(inc.status, inc.resolution ?? '').toBe('resolved');
    expect(inc.resolution).toMatch(/^run_runbook .* approved by alice; verified: running/);
    expect(principalsOf(w, inc.id, 'run_runbook', 'completed')).toEqual(['loop-n1']);
    expect(w.rt.approvals.get(parked.waitingOn!)!.status).toBe('used');
    expect((await c.inspect()).State.Running).toBe(true);
  });

  it("denies and audits as loop-n1 a write its policy forbids and a tool outside its subset; nothing of either runs", async () => {
    const c = await crashedContainer('n1-c');
    const w = await twoLevelWorld({
      policy: 'rules: [{ name: n1-no-restart, principal: loop-n1, tool: restart_container, decision: deny, reason: the first level only reads and runs runbooks }]',
      firstLevel: 'tools: [inspect_container, restart_container]',
      n1Script: [
        {
          // Its subset names restart_container, but its policy denies every call of it: not offered either.
          ...call('restart_container', { container: 'n1-c', timeoutSeconds: 1 }), inventsTools: true,
          expect: (req) => [...functionNames(req.body)].sort().join(',') === 'hand_over,inspect_container' || `offered ${functionNames(req.body)}`,
        },
        { ...call('stop_container', { container: 'n1-c' }), inventsTools: true, expect: lastResult(/denied by n1-no-restart: the first level only reads and runs runbooks/) },
        { ...call('hand_over', { findings: 'both of my writes were refused' }), expect: lastResult(/stop_container on local\/n1-c denied by caller:tools: stop_container is not among the tools this caller is given/) },
      ],
      claude: [use('restart_container', { container: 'n1-c', timeoutSeconds: 1 }), say('restarted')],
    });
    await w.postAlert('alertmanager', alertmanagerPayload('n1-c', 'n1-c is down'));
    const inc = await w.incident(byContainer('n1-c'));
    n1!.assertDone();
    w.api!.assertDone();
    const entries = w.rt.audit.forIncident(inc.id);
    const denied = entries.filter((e) => e.phase === 'denied').map((e) => ({ principal: e.principal, tool: e.tool, rule: e.rule, target: e.target }));
    expect(denied).toEqual([
      { principal: 'loop-n1', tool: 'restart_container', rule: 'n1-no-restart', target: 'local/n1-c' },
      { principal: 'loop-n1', tool: 'stop_container', rule: 'caller:tools', target: 'local/n1-c' },
    ]);
    expect(entries.filter((e) => e.principal === 'loop-n1' && e.tool !== 'inspect_container').every((e) => e.phase === 'denied')).toBe(true);
    expect(entries.some((e) => e.tool === 'stop_container' && e.phase !== 'denied')).toBe(false);
    // Claude, principal loop, is not bound by level 1's rule.
    expect(principalsOf(w, inc.id, 'restart_container', 'completed')).toEqual(['loop']);
    expect(inc.status).toBe('resolved');
    expect((await c.inspect()).State.Running).toBe(true);
    expect(w.rt.audit.verify()).toMatchObject({ ok: true });
  });
});
