// Which Claude model the loop asks by default, and whether the configured one is deprecated, both
// from the installed Anthropic SDK's own lists, so an SDK upgrade moves them without a code change.
// Importing this module must stay cheap: config.ts loads it for every command, so the SDK is read
// only when a deprecation is looked up, and only its small data file.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import type { Logger } from '../log.js';

/** The SDK's Model union without its `string & {}` escape hatch: the names it knows. */
type KnownModel<T = Anthropic.Model> = T extends string ? (string extends T ? never : T) : never;

/**
 * The newest Sonnet in the installed SDK's Model list that its deprecation list does not name
 * (test/unit/default-model.test.ts checks both). `satisfies` fails the build when an SDK upgrade
 * drops the name.
 */
export const DEFAULT_MODEL = 'claude-sonnet-5-5' satisfies KnownModel;

let deprecations: Readonly<Record<string, string>> | undefined;

/**
 * The SDK's map of deprecated models to their end-of-life dates (`DEPRECATED_MODELS`, which its
 * Messages client checks on every request). The SDK does not export it, so it is read from its
 * data file; an SDK that moved it yields an empty map here, never an error at start.
 */
export function sdkDeprecatedModels(): Readonly<Record<string, string>> {
  if (deprecations) return deprecations;
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve('@anthropic-ai/sdk'));
    const data = require(join(root, 'internal', 'data', 'deprecated-models.js')) as { DEPRECATED_MODELS?: unknown };
    const map = data.DEPRECATED_MODELS;
    deprecations = map && typeof map === 'object'
      ? Object.fromEntries(Object.entries(map).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : {};
  } catch {
    deprecations = {};
  }
  return deprecations;
}

/** The end-of-life date the SDK gives for `model`, or undefined when it is not deprecated. */
export function endOfLifeOf(model: string): string | undefined {
  return Object.hasOwn(sdkDeprecatedModels(), model) ? sdkDeprecatedModels()[model] : undefined;
}

const warned = new Set<string>();

/** Logs one warning per process and model when the configured model is deprecated; false when it is not. */
export function warnIfDeprecatedModel(model: string, log: Logger): boolean {
  const endOfLife = endOfLifeOf(model);
  if (!endOfLife) return false;
  if (warned.has(model)) return true;
  warned.add(model);
  log.warn({ model, endOfLife, suggested: DEFAULT_MODEL },
    `loop.model ${model} is deprecated and reaches end of life on ${endOfLife}: set loop.model (e.g. ${DEFAULT_MODEL}, the default)`);
  return true;
}
