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
import { runHttpDoorBench } from './http-door.js';
import { runFleetBench } from './fleet.js';
import { runVerifyCostBench } from './verify-cost.js';
import { runSoakCommand } from './soak.js';
import { runSoakHeapBench } from './soak/heap.js';
import { printTargets } from './lib/targets.js';
import {
  FRESH_RATIO_TARGET,
  FRESH_TOKEN_ALGORITHMS,
  recordGrpcTargets,
} from './lib/grpc-targets.js';
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
// A token verified on every call (token cache off: h2load sends one body, so
// the token cannot change per call; the cache insert a new token also costs
// is measured apart by `npm run bench verify`), against the no-op floor.
if (only === undefined || only === 'grpc' || only === 'fresh') {
  for (const alg of FRESH_TOKEN_ALGORITHMS) {
    const fresh = await runGrpcBench(print, {
      title: `Check over gRPC, a ${alg} token verified on every call: (a) no-op grpc-js server vs (b) rolegate`,
      rolegateEntry: entry('rolegate-server.js'),
      rolegateArgs: ['--token-cache', 'off', '--alg', alg],
      rolegateNodeArgs: ROLEGATE_NODE_FLAGS,
      targetRatio: FRESH_RATIO_TARGET,
    });
    recordGrpcTargets.fresh(fresh, alg);
  }
}
// The HTTP door: /nginx and /forward against node:http reading the same headers, then through nginx.
if (only === undefined || only === 'http') {
  const http = await runHttpDoorBench(print);
  if (http.nginx.b !== undefined && grpcWarm !== undefined) {
    print(
      `  HTTP door /nginx / gRPC (rolegate, warm token cache, same in-flight checks): ${(http.nginx.b.callsPerSec / grpcWarm).toFixed(2)}`,
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
// The soak tail's heap evidence (about two minutes); the soak itself (ten
// minutes each for rolegate and OPA-Envoy) only when named:
// `npm run bench soak -- --minutes 10`.
if (only === undefined || only === 'soak-heap') {
  await runSoakHeapBench(print);
}
if (only === 'soak') {
  await runSoakCommand(process.argv.slice(3), print);
}
printTargets(print);
