// The create request that rebuilds a container as it is: its Config and HostConfig taken from
// inspect and handed back whole (the way watchtower recreates), plus its networks. Pure: no I/O.
// Env values live only in the request; what a tool sees is the names of the settings carried.
import type Docker from 'dockerode';
import { bareName } from '../shared/containers.js';

/** Config keys that describe the container (not Docker's bookkeeping); Image is chosen separately. */
const CONFIG_KEYS = [
  'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty',
  'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Volumes', 'WorkingDir', 'Entrypoint',
  'NetworkDisabled', 'MacAddress', 'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell',
] as const;

/** Network modes that are not a network one can attach an endpoint to. */
const BUILTIN_MODES = new Set(['none', 'host', 'default', 'bridge']);

export interface CreatePlan {
  options: Docker.ContainerCreateOptions;
  /** User-defined networks beyond the first: connected after create, before start (API < 1.44 takes one at create). */
  extraNetworks: Array<{ name: string; endpoint: Docker.EndpointSettings }>;
}

/** What a recreate may change on the way: the image (another tag of the same repository) and environment variables. */
export interface Amendment {
  /** An image reference already on the host; warden never pulls. */
  image?: string;
  env?: { set: Record<string, string>; unset: string[] };
  /** Labels added to the new container (warden.change, so a rollback knows what it made). */
  labels?: Record<string, string>;
}

export interface Blueprint {
  id: string;
  name: string;
  /** The image as the container was created with it (Config.Image), e.g. `shop/web:1.4`. */
  imageName: string;
  /** What create uses: the name it was created with, or the image id when that name now means another image. */
  image: string;
  imageId: string;
  running: boolean;
  /** Docker removes such a container itself when it stops, so it cannot be renamed and kept. */
  autoRemove: boolean;
  /** The settings that are set and carried over, by Docker's names ("Env (3)", "HostConfig.Memory"); never values. */
  carried: string[];
  plan: CreatePlan;
}

function isSet(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function describeSet(prefix: string, obj: Record<string, unknown>): string[] {
  return Object.entries(obj)
    .filter(([, v]) => isSet(v))
    .map(([k, v]) => (Array.isArray(v) ? `${prefix}${k} (${v.length})` : `${prefix}${k}`))
    .sort();
}

/** Inspect shows legacy links as "/db:/web/db"; create wants "db:db". */
function createLink(link: string): string {
  const [target, alias] = link.split(':');
  return `${bareName(target)}:${(alias ?? '').split('/').pop() ?? ''}`;
}

function endpointOf(n: Docker.NetworkInfo, oldShortId: string): Docker.EndpointSettings {
  // Docker adds the old container's short id as an alias; the new container gets its own.
  const aliases = ((n.Aliases as string[] | null) ?? []).filter((a) => a !== oldShortId);
  return {
    ...(n.IPAMConfig ? { IPAMConfig: n.IPAMConfig as Docker.IPAMConfig } : {}),
    ...(aliases.length ? { Aliases: aliases } : {}),
    ...(n.Links ? { Links: n.Links as string[] } : {}),
  };
}

/**
 * Anonymous volumes (declared in Config.Volumes, not bound by Binds or Mounts) would come back empty:
 * mount the old ones again by name so their data stays with the container, as compose does.
 */
function anonymousVolumes(d: Docker.ContainerInspectInfo): Docker.MountSettings[] {
  const declared = new Set(Object.keys(d.Config.Volumes ?? {}));
  const hc = d.HostConfig;
  const bound = new Set([
    ...(hc.Binds ?? []).map((b) => b.split(':')[1] ?? ''),
    ...((hc.Mounts ?? []) as Array<{ Target: string }>).map((m) => m.Target),
  ]);
  return (d.Mounts ?? [])
    .filter((m) => m.Type === 'volume' && m.Name && declared.has(m.Destination) && !bound.has(m.Destination))
    .map((m) => ({ Type: 'volume', Source: m.Name!, Target: m.Destination, ReadOnly: !m.RW }));
}

/** `image`: the image reference create should use (see Blueprint.image). */
export function blueprintOf(d: Docker.ContainerInspectInfo, image: string): Blueprint {
  const shortId = d.Id.slice(0, 12);
  const config: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) {
    const v = (d.Config as unknown as Record<string, unknown>)[k];
    if (v !== undefined && v !== null) config[k] = v;
  }
  // Docker names an unnamed host after the container's short id: the new one gets its own.
  if (config.Hostname === shortId) delete config.Hostname;
  const { ContainerIDFile: _idFile, ...hostConfig } = d.HostConfig as Docker.HostConfig & { ContainerIDFile?: string };
  if (hostConfig.Links) hostConfig.Links = hostConfig.Links.map(createLink);
  const reattached = anonymousVolumes(d);
  if (reattached.length) hostConfig.Mounts = [...(hostConfig.Mounts ?? []), ...reattached];

  const mode = hostConfig.NetworkMode ?? 'default';
  const networks = Object.entries(d.NetworkSettings?.Networks ?? {}).filter(([name]) => !BUILTIN_MODES.has(name));
  const primary = networks.find(([name]) => name === mode);
  const options: Docker.ContainerCreateOptions = {
    ...config,
    Image: image,
    HostConfig: hostConfig,
    ...(primary ? { NetworkingConfig: { EndpointsConfig: { [primary[0]]: endpointOf(primary[1], shortId) } } } : {}),
  };
  const extraNetworks = networks.filter(([name]) => name !== mode).map(([name, n]) => ({ name, endpoint: endpointOf(n, shortId) }));
  const carried = [
    ...describeSet('', config),
    ...describeSet('HostConfig.', hostConfig as Record<string, unknown>),
    ...networks.map(([name]) => `network ${name}`),
    ...(reattached.length ? [`anonymous volumes reattached (${reattached.length})`] : []),
  ];
  return {
    id: shortId,
    name: bareName(d.Name),
    imageName: d.Config.Image,
    image,
    imageId: d.Image,
    running: d.State.Running,
    autoRemove: hostConfig.AutoRemove === true,
    carried,
    plan: { options, extraNetworks },
  };
}

/** `K=V` entries with `set` applied (replacing or appended, in order) and `unset` removed. */
export function amendEnv(env: readonly string[], set: Record<string, string>, unset: readonly string[]): string[] {
  const nameOf = (e: string): string => e.split('=', 1)[0]!;
  const drop = new Set([...unset, ...Object.keys(set)]);
  const kept = env.filter((e) => !drop.has(nameOf(e)));
  const replaced = env.filter((e) => nameOf(e) in set).map((e) => `${nameOf(e)}=${set[nameOf(e)]}`);
  const added = Object.keys(set).filter((k) => !env.some((e) => nameOf(e) === k)).map((k) => `${k}=${set[k]}`);
  // Keep the position of a replaced variable: a reader of inspect sees the same order as before.
  const order = env.map(nameOf).filter((n) => !unset.includes(n));
  const byName = new Map([...kept, ...replaced].map((e) => [nameOf(e), e]));
  return [...order.map((n) => byName.get(n)!).filter(Boolean), ...added];
}

/**
 * The create plan with the amendment applied; the blueprint itself is left as it was (the
 * rollback's). For a new image, `oldImage` is the old image's Config: settings the container only
 * had because the old image set them (its Cmd, its ENV lines) are dropped, so the new image's own
 * apply, as `docker compose up` with a new tag would do.
 */
export function amendPlan(plan: CreatePlan, a: Amendment, oldImage?: Record<string, unknown>): CreatePlan {
  const options: Record<string, unknown> = { ...plan.options };
  if (a.image && oldImage) {
    for (const k of CONFIG_KEYS) {
      if (k !== 'Env' && k in options && JSON.stringify(options[k]) === JSON.stringify(oldImage[k] ?? null)) delete options[k];
    }
    const inherited = new Set((oldImage.Env as string[] | null | undefined) ?? []);
    options.Env = ((options.Env as string[] | undefined) ?? []).filter((e) => !inherited.has(e));
  }
  const env = (options.Env as string[] | undefined) ?? [];
  return {
    ...plan,
    options: {
      ...options,
      ...(a.image ? { Image: a.image } : {}),
      ...(a.env ? { Env: amendEnv(env, a.env.set, a.env.unset) } : {}),
      ...(a.labels ? { Labels: { ...((options.Labels as Record<string, string> | undefined) ?? {}), ...a.labels } } : {}),
    } as Docker.ContainerCreateOptions,
  };
}

/** An image named by id or digest, not by repository and tag: no tag can be compared with it. */
export const isUntaggedRef = (ref: string): boolean => ref.includes('@') || /^(sha256:)?[0-9a-f]{12,64}$/.test(ref) || !/:[^/]+$/.test(ref);

/** `registry:5000/shop/web:1.4@sha256:...` -> `registry:5000/shop/web`: the part a tag change keeps. */
export function repositoryOf(ref: string): string {
  const noDigest = ref.split('@', 1)[0]!;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}
