// The closest known name to a typo, for error messages that say what was probably meant.
import { closest, distance } from 'fastest-levenshtein';

/** `; did you mean "x"?` when a known name is within two edits (or a third of the word), else ''. */
export function didYouMean(word: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const best = closest(word, [...known]);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? `; did you mean "${best}"?` : '';
}
