// A host that "reboots" in memory for reboot_host's tests: the fake runner answers the boot-id
// read from a value the stand-in reboot command changes. Nothing is ever rebooted: the inventory's
// argv is /bin/true with a marker argument, so even a real runner would do nothing.
import type { CommandResult } from '../../src/adapters/commands.js';
import type { ContainerSummary } from '../../src/adapters/docker-types.js';
import { ToolFailure } from '../../src/errors.js';
import { BOOT_ARGV } from '../../src/tools/host-reboot-change.js';
import { fakeAdapters } from './fake-docker.js';

export const REBOOT_ARGV = ['/bin/true', 'warden-test-reboot'];
export const BOOT_1 = '0b1e0000-1111-4222-8333-444455556666';
export const BOOT_2 = 'b2b2b2b2-aaaa-4bbb-8ccc-ddddeeeeffff';

export const HOSTS_REBOOTABLE = `hosts:\n  - name: local\n    reboot:\n      argv: ["${REBOOT_ARGV.join('", "')}"]\n`;
export const HOSTS_NOT_REBOOTABLE = 'hosts:\n  - name: local\n    notes: no reboot declared\n';

/**
 * How the stand-in reboot command behaves: `reboot` changes the boot id (a reboot), `nothing` leaves
 * it (a command that did not reboot), `refuse` exits 1 with stderr, `drop` loses the connection
 * and then reboots.
 */
export type RebootBehaviour = 'reboot' | 'nothing' | 'refuse' | 'drop';

const result = (stdout: string, exitCode = 0, stderr = ''): CommandResult => ({ exitCode, stdout, stderr, truncated: false });
const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function rebootableHost(behaviour: RebootBehaviour = 'reboot', opts: { afterReboot?: (containers: ContainerSummary[]) => void } = {}) {
  const adapters = fakeAdapters();
  const host = { bootId: BOOT_1, uptimeSeconds: 86_400, reboots: 0 };
  const reboot = (): void => {
    host.bootId = BOOT_2;
    host.uptimeSeconds = 42;
    host.reboots += 1;
    opts.afterReboot?.(adapters.fake.containers);
  };
  adapters.runner.answer = (argv) => {
    if (same(argv, BOOT_ARGV)) return result(`${host.bootId}\n${host.uptimeSeconds}.37 1234.56\n`);
    if (!same(argv, REBOOT_ARGV)) return result('', 127, `${argv[0]}: not found\n`);
    if (behaviour === 'refuse') return result('', 1, 'Failed to reboot system via logind: Interactive authentication required.\n');
    if (behaviour === 'drop') {
      reboot();
      throw new ToolFailure('unavailable', 'SSH to host local during exec /bin/true: the connection closed before the command reported its exit; retry later');
    }
    if (behaviour === 'reboot') reboot();
    return result('');
  };
  // Starting a container makes it run, as Docker would.
  adapters.fake.startContainer = async (ref: string) => {
    adapters.fake.calls.push(`start ${ref}`);
    const c = adapters.fake.containers.find((x) => x.name === ref || x.id === ref);
    if (c) c.state = 'running';
  };
  const rebootCalls = (): number => adapters.runner.calls.filter((a) => same(a, REBOOT_ARGV)).length;
  return { adapters, host, rebootCalls };
}
