// The runbooks on exit codes that are not crashes of the usual kind, end to end from Docker's own
// events with Claude unreachable: a command that is missing (127, or Docker's start error) is a
// configuration error escalated at once, quoting Docker; a SIGTERM from inside (143) is restarted like a crash.
// Docker logs no die event for a refused start, so that case comes in as an external alert.
import { describe, expect, it } from 'vitest';
import { createContainer } from '../support/containers.js';
import { alertmanagerPayload, useLoopWorlds, type LoopWorld } from '../support/loop-world.js';

const worlds = useLoopWorlds('');
const world = worlds.world;

const byContainer = (name: string) => (i: { container: string | null }) => i.container === name;
const loopWrites = (w: LoopWorld, id: string) =>
  w.rt.audit.forIncident(id).filter((e) => /^(start|restart)_container$/.test(e.tool) && e.phase === 'requested' && e.principal === 'loop');

describe('the runbooks on exit codes, Claude unreachable', () => {
  it('escalates exit 127 at once as a configuration error naming the restart count, and never starts it', async () => {
    const w = await world({ script: null });
    const c = await createContainer(worlds.dockerd(), 'ex-127', { cmd: ['sh', '-c', 'sleep 1; nope'] });
    const inc = await w.incident(byContainer('ex-127'), ['escalated']);
    expect(inc.resolution).toMatch(/configuration error: exit 127, its command was not found.*\(Docker restart count 0, last exit code 127\)/);
    expect(loopWrites(w, inc.id)).toEqual([]);
    expect((await c.inspect()).State).toMatchObject({ Running: false, ExitCode: 127 });
  });

  it("escalates Docker's start error at once, quoting it, and never starts it again", async () => {
    const w = await world({ script: null });
    // Docker refuses the start and records its error in State.Error; the container stays created.
    await createContainer(worlds.dockerd(), 'ex-nope', { cmd: ['nope'] }).catch(() => undefined);
    expect((await w.postAlert('alertmanager', alertmanagerPayload('ex-nope', 'ex-nope is down'))).status).toBe(202);
    const inc = await w.incident(byContainer('ex-nope'), ['escalated']);
    expect(inc.resolution).toMatch(/configuration error: Docker could not start it: ".*exec: "nope": executable file not found in \$PATH.*" \(exit 127\)/);
    expect(loopWrites(w, inc.id)).toEqual([]);
  });

  it('restarts a container that exited 143 with no stop through Docker, like a crash, and resolves', async () => {
    const w = await world({ script: null });
    // The first run gets SIGTERM from its own shell; the second stays up.
    const c = await createContainer(worlds.dockerd(), 'ex-143', { cmd: ['sh', '-c', 'if [ -f /ran ]; then exec sleep 100000; fi; touch /ran; sleep 1; exit 143'] });
    const inc = await w.incident(byContainer('ex-143'));
    expect(inc).toMatchObject({ status: 'resolved', attempts: 1 });
    expect(inc.resolution).toMatch(/^runbook start_container on local\/ex-143 \(exit 143 = SIGTERM sent from inside the container \(no stop or kill came through Docker\): restart like a crash\); verified/);
    expect((await c.inspect()).State.Running).toBe(true);
  });
});
