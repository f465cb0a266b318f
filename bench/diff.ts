/**
 * Cost of `rolegate diff` (not a test): the example configuration against
 * a one-statement widening, then generated configurations of 100, 250 and
 * 500 roles (two routes per role, so 1,000 routes at 500 roles) against the
 * same configuration with one statement changed. Prints the time of each
 * diff, the cells and decisions it took, and how the time grows with the
 * number of roles.
 *
 *   npm run bench                    (all benchmarks)
 *   node dist/bench/diff.js          (this one, after `npx tsc -p tsconfig.build.json`)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { proveConfigOf, simulateDecider } from '../src/cli/diff.js';
import { loadConfig } from '../src/config/load.js';
import { diffConfigs, type DiffResult } from '../src/prove/diff.js';

const ISSUER = 'https://issuer.example';
const NOW = Date.parse('2026-06-01T00:00:00Z');

/** `roles` roles, each trusted by one subject and granted two services; two routes per role. */
function generated(roles: number, widen: boolean): string {
  const routes = Array.from({ length: roles * 2 }, (_, j) => ({
    method: 'GET',
    path: `/svc${j}/items/{id}`,
    action: `svc${j}:GetItem`,
    resource: `arn:rolegate:svc${j}:::item/{id}`,
  }));
  const list = Array.from({ length: roles }, (_, i) => ({
    name: `role-${i}`,
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: ISSUER },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: { StringEquals: { 'jwt:sub': `svc-${i}` } },
        },
      ],
    },
    policies: {
      p: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Items',
            Effect: 'Allow',
            // The one change: role-0 also gets the next role's first service.
            Action:
              widen && i === 0
                ? [`svc${2 * i}:*`, `svc${2 * i + 1}:Get*`, 'svc2:GetItem']
                : [`svc${2 * i}:*`, `svc${2 * i + 1}:Get*`],
            Resource: [
              `arn:rolegate:svc${2 * i}:::item/*`,
              `arn:rolegate:svc${2 * i + 1}:::item/public-*`,
              ...(widen && i === 0 ? ['arn:rolegate:svc2:::item/*'] : []),
            ],
          },
        ],
      },
    },
  }));
  return JSON.stringify({
    issuers: [{ issuer: ISSUER, audiences: ['api'], jwksUri: `${ISSUER}/jwks` }],
    roles: list,
    routes,
  });
}

function timed(oldText: string, newText: string): { ms: number; result: DiffResult } {
  const a = loadConfig({ file: 'old.json', text: oldText });
  const b = loadConfig({ file: 'new.json', text: newText });
  const pa = proveConfigOf(a, 'old');
  const pb = proveConfigOf(b, 'new');
  const decide = simulateDecider(
    new Map([
      [pa, a],
      [pb, b],
    ]),
  );
  const t0 = performance.now();
  const result = diffConfigs(pa, pb, decide, { nowMs: NOW });
  return { ms: performance.now() - t0, result };
}

function line(label: string, t: { ms: number; result: DiffResult }): string {
  const s = t.result.stats;
  const added = t.result.findings.filter((f) => f.change === 'new-access').length;
  return `  ${label.padEnd(34)} ${t.ms.toFixed(0).padStart(7)} ms  ${String(added).padStart(2)} new-access classes  ${s.cells} cells, ${s.decisions} decisions`;
}

/** Runs the diff benchmark, writing its lines with `print`. */
export async function runDiffBench(print: (line: string) => void): Promise<void> {
  print('rolegate diff: time to prove a one-statement change');
  const example = readFileSync(
    fileURLToPath(new URL('../../examples/rolegate.yaml', import.meta.url)),
    'utf8',
  );
  const widened = example.replace(
    "Action: ['orders:Get*', 'orders:List*']",
    "Action: ['orders:Get*', 'orders:List*', 'orders:CreateOrder']",
  );
  print(line('examples/rolegate.yaml', timed(example, widened)));
  const sizes = [100, 250, 500];
  const times: number[] = [];
  for (const roles of sizes) {
    const t = timed(generated(roles, false), generated(roles, true));
    times.push(t.ms);
    print(line(`${roles} roles, ${roles * 2} routes`, t));
  }
  const [first, , last] = times;
  if (first !== undefined && last !== undefined) {
    print(`  growth 100 -> 500 roles: x${(last / first).toFixed(1)} time for x5 roles`);
  }
  await Promise.resolve();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runDiffBench((l) => console.log(l));
}
