/**
 * `npm run bench`: every benchmark, each printing ratios against a baseline
 * measured side by side in the same run. Not a test: nothing here asserts.
 */
import { fileURLToPath } from 'node:url';
import { runGrpcBench } from './grpc.js';
import { runObservabilityBench } from './observability.js';
import { runEnvoyPeerComparison } from './peers/run.js';
import { runPipelineBench } from './pipeline.js';
import { runPolicyBench } from './policy.js';
import { runDiffBench } from './diff.js';
import { runShadowBench } from './shadow.js';
import { runWorkersBench } from './workers.js';
import { runFleetBench } from './fleet.js';
import { runVerifyCostBench } from './verify-cost.js';
import { printTargets } from './lib/targets.js';
import { recordGrpcTargets } from './lib/grpc-targets.js';
import { ROLEGATE_NODE_FLAGS } from './lib/node-flags.js';

const print = (line: string) => console.log(line);
const entry = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

const only = process.argv[2];
if (only === undefined || only === 'policy') {
  await runPolicyBench(print);
}
if (only === undefined || only === 'diff') {
  await runDiffBench(print);
}
if (only === undefined || only === 'pipeline') {
  await runPipelineBench(print);
}
let grpcWarm: number | undefined;
if (only === undefined || only === 'grpc' || only === 'http') {
  const warm = await runGrpcBench(print, {
    title: 'Check over gRPC, warm token cache: (a) no-op grpc-js server vs (b) rolegate',
    rolegateEntry: entry('rolegate-server.js'),
    rolegateNodeArgs: ROLEGATE_NODE_FLAGS,
    targetRatio: 0.8,
  });
  grpcWarm = warm.b?.callsPerSec;
  if (only !== 'http') recordGrpcTargets.warm(warm);
}
if (only === undefined || only === 'grpc') {
  const fresh = await runGrpcBench(print, {
    title: 'Check over gRPC, token verified on every call: (a) verify-only server vs (b) rolegate',
    baselineEntry: entry('verify-server.js'),
    baselineLabel: 'a: verify-only',
    rolegateEntry: entry('rolegate-server.js'),
    rolegateArgs: ['--token-cache', 'off'],
    rolegateNodeArgs: ROLEGATE_NODE_FLAGS,
    targetRatio: 0.5,
  });
  recordGrpcTargets.fresh(fresh);
}
if (only === undefined || only === 'http') {
  const http = await runGrpcBench(print, {
    mode: 'http',
    title:
      'HTTP check (nginx auth_request door), warm token cache: (a) no-op node:http server vs (b) rolegate',
    baselineEntry: entry('http-noop-server.js'),
    baselineLabel: 'a: no-op node:http',
    rolegateEntry: entry('rolegate-server.js'),
    rolegateArgs: ['--http'],
    targetRatio: 0.9,
  });
  if (http.b !== undefined && grpcWarm !== undefined) {
    print(
      `  HTTP mode / gRPC mode (rolegate, warm token cache, same in-flight checks): ${(http.b.callsPerSec / grpcWarm).toFixed(2)}`,
    );
  }
}
if (only === undefined || only === 'observability') {
  await runObservabilityBench(print);
}
if (only === undefined || only === 'shadow') {
  await runShadowBench(print);
}
if (only === undefined || only === 'workers') {
  await runWorkersBench(print);
}
if (only === undefined || only === 'fleet') {
  await runFleetBench(print);
}
// Against OPA-Envoy through a real Envoy: only when `npm run bench:peers` built the peer.
if (only === undefined || only === 'peers') {
  await runEnvoyPeerComparison(print);
}
if (only === undefined || only === 'verify') {
  await runVerifyCostBench(print);
}
printTargets(print);
