/** Process environment a test changes and must put back. */

/** Remembers `names` as they are now; the returned function restores them (unset stays unset). */
export function keepEnv(...names: string[]): () => void {
  const saved = names.map((name) => [name, process.env[name]] as const);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
