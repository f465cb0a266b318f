/**
 * `npm run soak [-- --minutes N] [--rate R] [--tokens N] [--fault-every S]
 * [--no-peer] [--out FILE] [--json FILE]` (also `npm run bench soak -- …`):
 * the long reliability suite (not part of `npm test`). Holds 80 % of the
 * measured peak through a real Envoy for N minutes (default 10) with
 * 100,000 distinct tokens, rolegate pinned to one core, prints the table
 * and the tail target's rows (issue 29) beside the same soak against
 * OPA-Envoy (when `npm run bench:peers` built it; `--no-peer` skips it),
 * writes the table as markdown (default test-output/soak-table.md), and
 * exits 1 when a reliability judgement fails. See bench/soak/run.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { packageRoot } from '../src/transport/grpc/protos.js';
import { record } from './lib/targets.js';
import { runSoak } from './soak/run.js';
import { renderMarkdown, renderText } from './soak/table.js';
import { renderTailComparison, TAIL_TARGET, tailRows, tailVerdict } from './soak/tail.js';

/** Runs the soak with command-line style `args`; resolves to whether every reliability judgement held. */
export async function runSoakCommand(
  args: readonly string[],
  print: (line: string) => void,
): Promise<boolean> {
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? undefined : args[i + 1];
  };
  const num = (name: string): number | undefined => {
    const v = arg(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`soak: --${name} wants a positive number, got ${v}`);
    return n;
  };
  const minutes = num('minutes');
  const rate = num('rate');
  const tokens = num('tokens');
  const faultEverySec = num('fault-every');
  const out = arg('out') ?? join(packageRoot(), 'test-output', 'soak-table.md');
  const json = arg('json');

  const result = await runSoak({
    ...(minutes === undefined ? {} : { minutes }),
    ...(rate === undefined ? {} : { rate }),
    ...(tokens === undefined ? {} : { tokens }),
    ...(faultEverySec === undefined ? {} : { faultEverySec }),
    ...(args.includes('--no-peer') ? { peer: false } : {}),
    print,
  });
  print('');
  print(renderText(result.summary));
  for (const [kind, count] of Object.entries(result.reconciliation.mismatchKinds))
    print(`  mismatches: ${count} x ${kind}`);
  for (const m of result.reconciliation.mismatches)
    print(`  mismatch ${m.requestId}: ${m.problem}`);
  for (const e of result.errorSamples) print(`  error: ${e}`);

  // The tail target (issue 29), rolegate beside OPA-Envoy.
  print('');
  print(
    `Soak tail, ${(result.summary.durationS / 60).toFixed(1)} min, ` +
      (rate === undefined
        ? 'each side at 80 % of its own peak:'
        : `rolegate at the fixed --rate ${rate} req/s, OPA-Envoy at 80 % of its own peak:`),
  );
  const sides = [{ label: 'rolegate', rate: result.summary.rate, rows: result.tail }];
  if (result.peer !== undefined)
    sides.push({
      label: 'OPA-Envoy',
      rate: result.peer.rate,
      rows: tailRows(result.peer.p99Ms, result.peer.windows),
    });
  for (const line of renderTailComparison(sides)) print(`  ${line}`);
  if (result.peer !== undefined)
    print(
      `  (${result.peer.version}; peak ${result.peer.peakRps.toFixed(0)} req/s, ${result.peer.errors} errors)`,
    );
  if (result.peerNote !== undefined) print(`  ${result.peerNote}`);
  const v = tailVerdict(result.tail);
  record(
    `soak tail: rolegate whole-run p99 / windows p99 > ${TAIL_TARGET.windowP99Ms} ms`,
    `${result.tail.p99Ms.toFixed(1)} ms / ${result.tail.windowsOver}`,
    `<= ${TAIL_TARGET.p99Ms} ms / 0`,
    v.ok,
    `${v.detail}${result.peer ? `; OPA-Envoy p99 ${result.peer.p99Ms.toFixed(1)} ms` : ''}`,
  );

  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, renderMarkdown(result.summary));
  print(`\ntable written to ${out}`);
  if (json !== undefined) writeFileSync(json, JSON.stringify(result, null, 2));
  return result.ok;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ok = await runSoakCommand(process.argv.slice(2), (line) => console.log(line));
  process.exit(ok ? 0 : 1);
}
