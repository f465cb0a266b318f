/**
 * What observability costs on the gRPC path: the same rolegate bench child
 * (bench/rolegate-server.ts, warm token cache) run side by side
 *   (a) with `--observability off`: no audit record, no metric update, no span;
 *   (b) as shipped: every decision counted and timed in prom-client, and every
 *       one written as an audit record (allow sample rate 1, the default)
 *       through pino's async file destination — the worst case.
 * Tracing stays off on both sides (it is opt-in). Prints calls/s, p50, p99
 * and the ratio b/a, using bench/grpc.ts's alternating-round harness.
 *
 * Direct use (after `npm run build`):
 *   node dist/bench/observability.js [--rounds N] [--duration SECONDS]
 */
import { fileURLToPath } from 'node:url';
import { runGrpcBench, type GrpcBenchOptions, type GrpcBenchResult } from './grpc.js';

export const ROLEGATE_SERVER_ENTRY = fileURLToPath(
  new URL('./rolegate-server.js', import.meta.url),
);

const signed = (x: number, digits: number) => (x >= 0 ? '+' : '') + x.toFixed(digits);

/** Runs the with/without comparison and prints it; `opts` overrides rounds, duration, load. */
export async function runObservabilityBench(
  print: (line: string) => void,
  opts: Omit<
    GrpcBenchOptions,
    'baselineEntry' | 'baselineArgs' | 'rolegateEntry' | 'rolegateArgs'
  > = {},
): Promise<GrpcBenchResult> {
  const result = await runGrpcBench(print, {
    title: 'observability overhead (audit every decision + metrics) vs none',
    baselineLabel: 'a: observability off',
    rolegateLabel: 'b: audit+metrics on',
    targetRatio: 0.85,
    ...opts,
    baselineEntry: ROLEGATE_SERVER_ENTRY,
    baselineArgs: ['--observability', 'off'],
    rolegateEntry: ROLEGATE_SERVER_ENTRY,
    rolegateArgs: ['--audit-file'],
  });
  if (result.b !== undefined && result.ratio !== undefined) {
    const { a, b } = result;
    print(
      `  with observability: calls/s ${signed((result.ratio - 1) * 100, 1)}%, ` +
        `p50 ${signed(b.p50Ms - a.p50Ms, 3)} ms, p99 ${signed(b.p99Ms - a.p99Ms, 3)} ms`,
    );
  }
  return result;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Optional: --rounds N --duration SECONDS
  const num = (flag: string): number | undefined => {
    const i = process.argv.indexOf(flag);
    const v = i < 0 ? undefined : Number(process.argv[i + 1]);
    return v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const rounds = num('--rounds');
  const durationSec = num('--duration');
  runObservabilityBench((line) => console.log(line), {
    ...(rounds !== undefined ? { rounds } : {}),
    ...(durationSec !== undefined ? { durationSec } : {}),
  }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
