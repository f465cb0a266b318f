/**
 * Counting what a person sees: the length rules of the access API (a
 * reason is required, a break-glass reason needs at least ten characters)
 * count grapheme clusters (`Intl.Segmenter`), and only those that show
 * something. A cluster made only of white space, control or format
 * characters (zero-width space, joiners, bidi controls, the BOM), other
 * default-ignorable code points (Hangul fillers, variation selectors),
 * combining marks with nothing to sit on, private-use or unassigned code
 * points, or the blank Braille pattern counts for nothing, so ten spaces or
 * a run of U+200B never meet a minimum.
 */

const SEGMENTER = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** A code point that shows something: a letter, digit, punctuation or symbol that is not ignorable. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800]/u;

/** True when the grapheme cluster `g` shows at least one visible character. */
export function isVisibleGrapheme(g: string): boolean {
  for (const ch of g) {
    if (VISIBLE.test(ch) && !INVISIBLE.test(ch)) return true;
  }
  return false;
}

/** The number of visible grapheme clusters of `s` (see the module comment). */
export function visibleLength(s: string): number {
  let n = 0;
  for (const { segment } of SEGMENTER.segment(s)) if (isVisibleGrapheme(segment)) n++;
  return n;
}
