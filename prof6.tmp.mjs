import { startServerProcess } from './dist/bench/lib/server-process.js';
import { runH2load } from './dist/bench/lib/h2load.js';
import { benchCheckRequest, grpcFrame } from './dist/bench/lib/request.js';
const server = await startServerProcess({ entry: '/work/main/dist/bench/rolegate-server.js', core: 0, args: [], env: { ...process.env, NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/cpuprof3' } });
const body = grpcFrame(benchCheckRequest({ headers: server.headers, path: server.path, method: server.method }));
const r = await runH2load({ port: server.port, body, clients: 4, streams: 8, durationSec: 5, warmupSec: 1, core: 1 });
console.log(r.callsPerSec, r.p50Ms);
await server.stop();
