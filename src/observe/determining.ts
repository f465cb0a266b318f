/** The one string form of a determining statement, shared by every audit shape. */
import type { Determining } from '../policy/types.js';

/** One determining statement as a short, stable string: `layer:policy/statement:Effect` (or `layer:ImplicitDeny`). */
export function formatDetermining(d: Determining): string {
  return d.policy === undefined
    ? `${d.layer}:${d.effect}`
    : `${d.layer}:${d.policy}/${d.statement ?? ''}:${d.effect}`;
}
