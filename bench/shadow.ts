/**
 * What shadow mode costs on the gRPC path: the same rolegate bench child
 * (bench/rolegate-server.ts, warm token cache, audit to a file) run side by
 * side
 *   (a) without a `shadow` section;
 *   (b) with one naming a copy of the same configuration, so every Check is
 *       also evaluated against the candidate (off the response path) and
 *       counted in `rolegate_shadow_decisions_total`.
 * Prints calls/s, p50, p99 and the ratio b/a (bench/grpc.ts's
 * alternating-round harness).
 *
 * Direct use (after `npm run build`):
 *   node dist/bench/shadow.js [--rounds N] [--duration SECONDS]
 */
import { fileURLToPath } from 'node:url';
import { runGrpcBench, type GrpcBenchOptions, type GrpcBenchResult } from './grpc.js';
import { ROLEGATE_SERVER_ENTRY } from './observability.js';

const signed = (x: number, digits: number) => (x >= 0 ? '+' : '') + x.toFixed(digits);

/** Runs the with/without comparison and prints it; `opts` overrides rounds, duration, load. */
export async function runShadowBench(
  print: (line: string) => void,
  opts: Omit<
    GrpcBenchOptions,
    'baselineEntry' | 'baselineArgs' | 'rolegateEntry' | 'rolegateArgs'
  > = {},
): Promise<GrpcBenchResult> {
  const result = await runGrpcBench(print, {
    title: 'shadow mode overhead (every Check also evaluated against a candidate) vs none',
    baselineLabel: 'a: no shadow',
    rolegateLabel: 'b: shadow candidate',
    targetRatio: 0.85,
    ...opts,
    baselineEntry: ROLEGATE_SERVER_ENTRY,
    baselineArgs: ['--audit-file'],
    rolegateEntry: ROLEGATE_SERVER_ENTRY,
    rolegateArgs: ['--audit-file', '--shadow'],
  });
  if (result.b !== undefined && result.ratio !== undefined) {
    const { a, b } = result;
    print(
      `  with shadow: calls/s ${signed((result.ratio - 1) * 100, 1)}%, ` +
        `p50 ${signed(b.p50Ms - a.p50Ms, 3)} ms, p99 ${signed(b.p99Ms - a.p99Ms, 3)} ms`,
    );
  }
  return result;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const num = (flag: string): number | undefined => {
    const i = process.argv.indexOf(flag);
    const v = i < 0 ? undefined : Number(process.argv[i + 1]);
    return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const rounds = num('--rounds');
  const durationSec = num('--duration');
  runShadowBench((line) => console.log(line), {
    ...(rounds !== undefined ? { rounds } : {}),
    ...(durationSec !== undefined ? { durationSec } : {}),
  }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
