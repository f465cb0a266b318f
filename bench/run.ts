/**
 * `npm run bench`: every benchmark, each printing ratios against a baseline
 * measured side by side in the same run. Not a test: nothing here asserts.
 */
import { fileURLToPath } from 'node:url';
import { runGrpcBench } from './grpc.js';
import { runObservabilityBench } from './observability.js';
import { runPipelineBench } from './pipeline.js';
import { runPolicyBench } from './policy.js';
import { runShadowBench } from './shadow.js';

const print = (line: string) => console.log(line);
const entry = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

const only = process.argv[2];
if (only === undefined || only === 'policy') {
  await runPolicyBench(print);
}
if (only === undefined || only === 'pipeline') {
  await runPipelineBench(print);
}
if (only === undefined || only === 'grpc') {
  await runGrpcBench(print, {
    title: 'Check over gRPC, warm token cache: (a) no-op grpc-js server vs (b) rolegate',
    rolegateEntry: entry('rolegate-server.js'),
    targetRatio: 0.9,
  });
  await runGrpcBench(print, {
    title: 'Check over gRPC, token verified on every call: (a) verify-only server vs (b) rolegate',
    baselineEntry: entry('verify-server.js'),
    baselineLabel: 'a: verify-only',
    rolegateEntry: entry('rolegate-server.js'),
    rolegateArgs: ['--token-cache', 'off'],
    targetRatio: 0.9,
  });
}
if (only === undefined || only === 'observability') {
  await runObservabilityBench(print);
}
if (only === undefined || only === 'shadow') {
  await runShadowBench(print);
}
