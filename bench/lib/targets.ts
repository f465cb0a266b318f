/**
 * The "Targets" block `npm run bench` ends with: every benchmark records
 * the targets it measured (name, measured value, the target, PASS/FAIL) and
 * bench/run.ts prints them together at the end. Shared by every bench
 * (gRPC, peers, workers…): record, never print directly.
 */

export interface TargetResult {
  /** What is measured, e.g. 'warm token cache: rolegate / no-op calls/s'. */
  readonly name: string;
  /** The measured value, formatted for humans (e.g. '0.83', '1.4 ms'). */
  readonly value: string;
  /** The target, formatted for humans (e.g. '>= 0.8', '<= 2 ms'). */
  readonly target: string;
  readonly pass: boolean;
  /** Optional detail printed under the line (per-round figures, caveats). */
  readonly detail?: string;
}

const results: TargetResult[] = [];

/** Record one target's outcome for the final block. */
export function record(
  name: string,
  value: string,
  target: string,
  pass: boolean,
  detail?: string,
): void {
  results.push({ name, value, target, pass, ...(detail === undefined ? {} : { detail }) });
}

/** Every target recorded so far, in order. */
export function recordedTargets(): readonly TargetResult[] {
  return results;
}

/** Print the "Targets" block (nothing when no target was recorded). */
export function printTargets(print: (line: string) => void): void {
  if (results.length === 0) return;
  const width = Math.max(...results.map((r) => r.name.length));
  print('');
  print('Targets');
  for (const r of results) {
    print(
      `  ${r.pass ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${r.value.padStart(10)}  (target ${r.target})`,
    );
    if (r.detail !== undefined) print(`        ${r.detail}`);
  }
  const failed = results.filter((r) => !r.pass).length;
  print(`  ${results.length - failed} of ${results.length} targets met`);
}
