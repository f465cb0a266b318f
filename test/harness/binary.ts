/**
 * Finding a peer's executable the same way for every harness: an explicit
 * environment variable, then PATH, then known fallback locations. A missing
 * binary throws with instructions (in CI and outside it): tests never skip.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface BinarySearch {
  /** Peer name for messages, e.g. `moto`. */
  readonly peer: string;
  /** Executable name looked up on PATH. */
  readonly name: string;
  /** Environment variable that names the executable outright. */
  readonly envVar: string;
  /** Paths tried after PATH. */
  readonly fallbacks?: readonly string[];
  /** How to install it, appended to errors. */
  readonly howToFix: string;
}

/** The executable's path, or a thrown error that says where it looked and how to fix it. */
export function findBinary(search: BinarySearch, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[search.envVar];
  if (explicit !== undefined && explicit !== '') {
    if (executable(explicit)) return explicit;
    throw new Error(
      `${search.peer}: ${search.envVar}=${explicit} is not executable. ${search.howToFix}`,
    );
  }
  const candidates = [
    ...(env['PATH'] ?? '')
      .split(delimiter)
      .filter((dir) => dir !== '')
      .map((dir) => join(dir, search.name)),
    ...(search.fallbacks ?? []),
  ];
  const found = candidates.find(executable);
  if (found !== undefined) return found;
  throw new Error(
    `${search.peer}: no ${search.name} found (CI=${env['CI'] ?? 'unset'}; looked at ${search.envVar}, PATH, ${(search.fallbacks ?? []).join(', ') || 'nothing else'}). ${search.howToFix}`,
  );
}
