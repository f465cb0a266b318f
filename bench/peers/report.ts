/**
 * Targets the peer benchmark measured, printed together at the end of a run.
 * Same calls as the shared collector (bench/lib/targets.ts on the hot-path
 * branch: `record(name, value, target, pass, detail?)`, `printTargets`); this
 * file stands in until that one is merged, then the imports switch over.
 */

interface Target {
  readonly name: string;
  readonly value: string;
  readonly target: string;
  readonly pass: boolean;
  readonly detail?: string;
}

const targets: Target[] = [];

/** Record one target's outcome (value and target already formatted). */
export function record(
  name: string,
  value: string,
  target: string,
  pass: boolean,
  detail?: string,
): void {
  targets.push({ name, value, target, pass, ...(detail === undefined ? {} : { detail }) });
}

/** Print every recorded target with PASS/FAIL; nothing when none was recorded. */
export function printTargets(print: (line: string) => void): void {
  if (targets.length === 0) return;
  const width = Math.max(...targets.map((t) => t.name.length));
  print('');
  print('Targets');
  for (const t of targets) {
    print(
      `  ${t.pass ? 'PASS' : 'FAIL'}  ${t.name.padEnd(width)}  ${t.value.padStart(10)}  (target ${t.target})`,
    );
    if (t.detail !== undefined) print(`        ${t.detail}`);
  }
}
