/**
 * `npm run soak [-- --minutes N] [--rate R] [--tokens N] [--fault-every S] [--out FILE]`:
 * the long reliability suite (not part of `npm test`). Holds 80 % of the
 * measured peak through a real Envoy for N minutes (default 10), prints the
 * table, writes it as markdown (default test-output/soak-table.md), and
 * exits 1 when a judgement fails. See bench/soak/run.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { packageRoot } from '../src/transport/grpc/protos.js';
import { runSoak } from './soak/run.js';
import { renderMarkdown, renderText } from './soak/table.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const num = (name: string): number | undefined => {
  const v = arg(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`soak: --${name} wants a positive number, got ${v}`);
    process.exit(2);
  }
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
  print: (line) => console.log(line),
});
console.log('');
console.log(renderText(result.summary));
for (const [kind, count] of Object.entries(result.reconciliation.mismatchKinds))
  console.log(`  mismatches: ${count} x ${kind}`);
for (const m of result.reconciliation.mismatches)
  console.log(`  mismatch ${m.requestId}: ${m.problem}`);
for (const e of result.errorSamples) console.log(`  error: ${e}`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, renderMarkdown(result.summary));
console.log(`\ntable written to ${out}`);
if (json !== undefined) writeFileSync(json, JSON.stringify(result, null, 2));
process.exit(result.ok ? 0 : 1);
