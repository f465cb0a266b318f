/**
 * Policy engine benchmark (not a test): rolegate vs the `pbac` package on a
 * shared workload, then rolegate alone at 100 / 1,000 / 10,000 statements.
 *
 * The comparison workload uses only what both engines support: Action and
 * Resource lists, `${aws:username}` in the resource part, IpAddress,
 * NumericLessThan / NumericGreaterThanEquals, ForAnyValue:StringLike,
 * StringEqualsIfExists (pbac does not treat an absent key as absent, so
 * every key the policies test is present in every request), one key per
 * operator block (pbac reads only the first), and resource wildcards that
 * cover whole ARN segments or sit in the resource part (pbac lets `*` cross
 * colons everywhere). Both engines must agree on every decision.
 *
 * Throughput is the best of several timed batches; per-decision latencies
 * (p50, p99) are each request's fastest of 3 individually timed passes
 * (1 pass for pbac), minus the timer's overhead.
 *
 *   npm run bench                      (all benchmarks)
 *   node dist/bench/policy.js          (this one, after `npx tsc -p tsconfig.build.json`)
 */
import { createRequire } from 'node:module';
import {
  buildContext,
  compilePolicy,
  createPolicySet,
  evaluate,
  type CompiledPolicy,
  type ContextInput,
  type EvaluationRequest,
  type PolicySet,
} from '../src/policy/index.js';
import { seededRandom } from '../test/support/random.js';

interface Pbac {
  evaluate(params: { action: string; resource: string; context: unknown }): boolean;
}
type PbacCtor = new (policies: unknown[], options?: { validateSchema?: boolean }) => Pbac;

function pick<T>(r: () => number, list: readonly T[]): T {
  const v = list[Math.floor(r() * list.length)];
  if (v === undefined) throw new Error('empty list');
  return v;
}

const ACCOUNT = '123456789012';

function sharedPolicies(): unknown[] {
  const docs: unknown[] = [];
  for (let i = 0; i < 10; i++) {
    const svc = `app${i}`;
    docs.push({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ReadOwnDocs',
          Effect: 'Allow',
          Action: [`${svc}:Get*`, `${svc}:List*`],
          Resource: [`arn:aws:${svc}:*:${ACCOUNT}:doc/\${aws:username}/*`],
          Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } },
        },
        {
          Sid: 'PutSmall',
          Effect: 'Allow',
          Action: [`${svc}:Put*`],
          Resource: [`arn:aws:${svc}:us-east-1:${ACCOUNT}:doc/*`],
          Condition: { NumericLessThan: { 'app:size': 1000 } },
        },
        {
          Sid: 'TaggedAnything',
          Effect: 'Allow',
          Action: [`${svc}:*`],
          Resource: [`arn:aws:${svc}:*:*:tagged/*`],
          Condition: { 'ForAnyValue:StringLike': { 'aws:TagKeys': ['team-*', 'env'] } },
        },
        {
          Sid: 'NoDeleteSecrets',
          Effect: 'Deny',
          Action: [`${svc}:Delete*`],
          Resource: [`arn:aws:${svc}:*:*:doc/secret/*`],
          Condition: { StringNotEqualsIfExists: { 'aws:username': ['admin'] } },
        },
        {
          Sid: 'Items',
          Effect: 'Allow',
          Action: [`${svc}:Describe?tem`, `${svc}:Read`],
          Resource: [`arn:aws:${svc}:eu-west-1:${ACCOUNT}:item/\${aws:username}`],
          Condition: { NumericGreaterThanEquals: { 'app:level': 3 } },
        },
      ],
    });
  }
  return docs;
}

interface Req {
  readonly action: string;
  readonly resource: string;
  readonly flat: ContextInput;
  readonly nested: unknown;
}

function sharedRequests(n: number, seed: number): Req[] {
  const r = seededRandom(seed);
  const users = ['alice', 'bob', 'admin', 'mallory'];
  const verbs = ['GetDoc', 'ListDocs', 'PutDoc', 'DeleteDoc', 'DescribeItem', 'Read', 'Rename'];
  const regions = ['us-east-1', 'eu-west-1'];
  const ips = [
    '10.1.2.3',
    '10.200.0.9',
    '192.168.1.10',
    '172.16.0.1',
    '2001:db8::7',
    '2001:db9::1',
  ];
  const tagSets = [[], ['team-a'], ['env', 'x'], ['owner'], ['team-b', 'cost']];
  const out: Req[] = [];
  for (let k = 0; k < n; k++) {
    const svc = `app${Math.floor(r() * 12)}`; // app10, app11 match nothing
    const user = pick(r, users);
    const kind = pick(r, ['doc', 'secret', 'tagged', 'item']);
    const owner = r() < 0.7 ? user : pick(r, users);
    const region = pick(r, regions);
    const resource =
      kind === 'doc'
        ? `arn:aws:${svc}:${region}:${ACCOUNT}:doc/${owner}/file${k % 13}`
        : kind === 'secret'
          ? `arn:aws:${svc}:${region}:${ACCOUNT}:doc/secret/k${k % 7}`
          : kind === 'tagged'
            ? `arn:aws:${svc}:${region}:${ACCOUNT}:tagged/t${k % 5}`
            : `arn:aws:${svc}:${region}:${ACCOUNT}:item/${owner}`;
    const ip = pick(r, ips);
    const size = Math.floor(r() * 2000);
    const level = Math.floor(r() * 6);
    const tags = pick(r, tagSets);
    out.push({
      action: `${svc}:${pick(r, verbs)}`,
      resource,
      flat: {
        'aws:username': user,
        'aws:SourceIp': ip,
        'aws:TagKeys': tags,
        'app:size': size,
        'app:level': level,
      },
      nested: { aws: { username: user, SourceIp: ip, TagKeys: tags }, app: { size, level } },
    });
  }
  return out;
}

function compileAll(docs: readonly unknown[]): CompiledPolicy[] {
  return docs.map((d, i) => {
    const res = compilePolicy(d, { name: `p${i}` });
    if (res.policy === undefined)
      throw new Error(`bench policy ${i} does not compile: ${JSON.stringify(res.diagnostics)}`);
    return res.policy;
  });
}

interface Stats {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** Timer overhead of one hrtime.bigint pair, in ns (subtracted from per-decision samples). */
function timerOverhead(): number {
  const samples: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const t0 = process.hrtime.bigint();
    const t1 = process.hrtime.bigint();
    samples.push(Number(t1 - t0));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? 0;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/**
 * Runs `fn` over all indices. Throughput: the best of `rounds` timed batches.
 * Percentiles: each call timed on its own, `passes` times; a call's latency is
 * its fastest pass (so a scheduler hiccup on a shared machine does not land
 * in the tail), minus the timer's own overhead.
 */
function measure(
  count: number,
  fn: (i: number) => unknown,
  overhead: number,
  rounds = 10,
  passes = 3,
): Stats {
  let sink = 0;
  for (let i = 0; i < Math.min(count, 5000); i++) if (fn(i) !== undefined) sink++; // warm-up
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) if (fn(i) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns);
  }
  const per: number[] = new Array<number>(count).fill(Infinity);
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      if (fn(i) !== undefined) sink++;
      const ns = Math.max(0, Number(process.hrtime.bigint() - t0) - overhead);
      if (ns < (per[i] ?? Infinity)) per[i] = ns;
    }
  }
  per.sort((a, b) => a - b);
  if (sink < 0) throw new Error('unreachable');
  return { perSecond: (count * 1e9) / best, p50: percentile(per, 0.5), p99: percentile(per, 0.99) };
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M/s` : `${(n / 1e3).toFixed(1)}k/s`;
}

function fmtNs(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}

export function scalingSet(
  statements: number,
  seed: number,
): { set: PolicySet; requests: EvaluationRequest[] } {
  const r = seededRandom(seed);
  const services = Math.max(5, Math.floor(statements / 20));
  const verbs = ['Get', 'List', 'Put', 'Delete', 'Describe', 'Update', 'Create', 'Tag'];
  const perPolicy = 20;
  const docs: unknown[] = [];
  for (let p = 0; p * perPolicy < statements; p++) {
    const st: unknown[] = [];
    for (let s = 0; s < perPolicy && p * perPolicy + s < statements; s++) {
      const svc = `svc${Math.floor(r() * services)}`;
      const verb = pick(r, verbs);
      const n = Math.floor(r() * 10);
      const roll = r();
      const action =
        roll < 0.7
          ? `${svc}:${verb}Thing${n}`
          : roll < 0.95
            ? `${svc}:${verb}*`
            : `${svc}:*Thing${n}`;
      const stmt: Record<string, unknown> = {
        Sid: `S${s}`,
        Effect: r() < 0.1 ? 'Deny' : 'Allow',
        Action: action,
        Resource: `arn:aws:${svc}:*:${ACCOUNT}:thing/\${aws:username}/*`,
      };
      const c = r();
      if (c < 0.3) stmt['Condition'] = { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } };
      else if (c < 0.5) stmt['Condition'] = { NumericLessThanEquals: { 'app:size': 500 } };
      else if (c < 0.6)
        stmt['Condition'] = { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['a', 'b'] } };
      else if (c < 0.7)
        stmt['Condition'] = { StringEqualsIfExists: { 'aws:RequestedRegion': 'eu-west-1' } };
      st.push(stmt);
    }
    docs.push({ Version: '2012-10-17', Statement: st });
  }
  // Guardrail: allow all, deny one service (always consulted).
  const guard = compilePolicy(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: '*',
          Resource: '*',
          Condition: { Bool: { 'aws:SecureTransport': 'true' } },
        },
        { Effect: 'Deny', Action: 'svc0:*', Resource: '*' },
      ],
    },
    { name: 'guardrail' },
  ).policy;
  if (guard === undefined) throw new Error('guardrail does not compile');
  const set = createPolicySet({ identity: compileAll(docs), guardrails: [guard] });
  const requests: EvaluationRequest[] = [];
  for (let k = 0; k < 20000; k++) {
    const svc = `svc${Math.floor(r() * services * 1.1)}`;
    const user = pick(r, ['alice', 'bob']);
    requests.push({
      action: `${svc}:${pick(r, verbs)}Thing${Math.floor(r() * 12)}`,
      resource: `arn:aws:${svc}:us-east-1:${ACCOUNT}:thing/${r() < 0.8 ? user : 'carol'}/x`,
      context: buildContext({
        'aws:username': user,
        'aws:SourceIp': r() < 0.8 ? '10.0.0.1' : '192.0.2.1',
        'aws:SecureTransport': true,
        'app:size': Math.floor(r() * 1000),
        'aws:TagKeys': r() < 0.5 ? ['a'] : [],
      }),
    });
  }
  return { set, requests };
}

export async function runPolicyBench(print: (line: string) => void): Promise<void> {
  const require = createRequire(import.meta.url);
  const PBAC = require('pbac') as PbacCtor;
  const overhead = timerOverhead();
  print(
    `policy engine benchmark (timer overhead ${overhead} ns subtracted from per-decision samples)`,
  );

  const docs = sharedPolicies();
  const set = createPolicySet({ identity: compileAll(docs) });
  const pbac = new PBAC(JSON.parse(JSON.stringify(docs)) as unknown[]);
  const reqs = sharedRequests(20000, 0x5eed);
  const prebuilt: EvaluationRequest[] = reqs.map((q) => ({
    action: q.action,
    resource: q.resource,
    context: buildContext(q.flat),
  }));

  // Agreement on the shared workload.
  let agree = 0;
  let allowed = 0;
  const disagreements: string[] = [];
  reqs.forEach((q, i) => {
    const pre = prebuilt[i];
    if (pre === undefined) return;
    const ours = evaluate(set, pre).decision === 'Allow';
    const theirs = pbac.evaluate({ action: q.action, resource: q.resource, context: q.nested });
    if (ours) allowed++;
    if (ours === theirs) agree++;
    else if (disagreements.length < 3)
      disagreements.push(`${q.action} ${q.resource} ours=${ours} pbac=${theirs}`);
  });
  print(`shared workload: 10 policies x 5 statements, ${reqs.length} requests, ${allowed} allowed`);
  print(
    `agreement rolegate vs pbac: ${agree}/${reqs.length}${disagreements.length > 0 ? ` e.g. ${disagreements.join(' | ')}` : ''}`,
  );

  const ours = measure(
    prebuilt.length,
    (i) => evaluate(set, prebuilt[i] as EvaluationRequest),
    overhead,
  );
  const oursCtx = measure(
    reqs.length,
    (i) => {
      const q = reqs[i] as Req;
      return evaluate(set, {
        action: q.action,
        resource: q.resource,
        context: buildContext(q.flat),
      });
    },
    overhead,
  );
  const theirs = measure(
    reqs.length,
    (i) => {
      const q = reqs[i] as Req;
      return pbac.evaluate({ action: q.action, resource: q.resource, context: q.nested });
    },
    overhead,
    2,
    1,
  );
  const line = (name: string, s: Stats): string =>
    `  ${name.padEnd(34)} ${fmtRate(s.perSecond).padStart(10)}  p50 ${fmtNs(s.p50).padStart(9)}  p99 ${fmtNs(s.p99).padStart(9)}`;
  print(line('rolegate evaluate', ours));
  print(line('rolegate buildContext + evaluate', oursCtx));
  print(line('pbac evaluate', theirs));
  print(
    `  ratio rolegate/pbac: ${(ours.perSecond / theirs.perSecond).toFixed(0)}x (evaluate), ${(oursCtx.perSecond / theirs.perSecond).toFixed(0)}x (with buildContext)`,
  );

  print('scaling (identity statements + a 2-statement guardrail; 20,000 requests each):');
  for (const n of [100, 1000, 10000]) {
    const { set: s, requests } = scalingSet(n, 42 + n);
    const st = measure(
      requests.length,
      (i) => evaluate(s, requests[i] as EvaluationRequest),
      overhead,
    );
    print(
      `  ${String(n).padStart(6)} statements: ${fmtRate(st.perSecond).padStart(10)}  p50 ${fmtNs(st.p50).padStart(9)}  p99 ${fmtNs(st.p99).padStart(9)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runPolicyBench((l) => console.log(l));
}
