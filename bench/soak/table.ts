/**
 * The soak's result table: what load was held, which faults were survived,
 * which bad inputs were tried, and that nothing was lost; printed as text
 * and written as markdown with the date and the machine.
 */
import type { Verdict } from './stats.js';

/** Everything the table shows. */
export interface SoakSummary {
  /** ISO date-time the run started. */
  readonly date: string;
  /** e.g. `AMD EPYC, 2 cores, Node v24.22.3, Envoy 1.40.0`. */
  readonly machine: string;
  /** How the work was placed on cores, and the machine's load average. */
  readonly placement: string;
  /** Closed-loop peak through Envoy in req/s (undefined when a rate was given). */
  readonly peakRps?: number;
  /** rolegate's CPU use at the peak, in cores (1 = one core busy). */
  readonly peakRolegateCpu?: number;
  /** rolegate's CPU use while the rate was held, in cores. */
  readonly heldRolegateCpu: number;
  /** The load generator's own ceiling (closed loop against the upstream directly), req/s. */
  readonly generatorCeilingRps: number;
  readonly rate: number;
  readonly durationS: number;
  /** Requests of the held-load phase. */
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Unexpected statuses and failed requests, over the whole run. */
  readonly errors: number;
  readonly reloads: number;
  readonly invalidConfigs: number;
  /** Distinct config hashes in the audit records (reloads + 1 when every reload took). */
  readonly generationsSeen: number;
  readonly badTried: number;
  readonly badRefused: number;
  /** Status counts of the bad inputs. */
  readonly badStatuses: Readonly<Record<number, number>>;
  /** Requests the client sent over the whole run (peak search included). */
  readonly clientRequests: number;
  readonly envoyLines: number;
  readonly auditRecords: number;
  readonly refusedByEnvoy: number;
  /** Requests whose ext_authz call failed in Envoy (timeout or reset): denied by Envoy, not by rolegate. */
  readonly extAuthzFailed: number;
  /** Of those, the ones rolegate audited as an abandoned deny (`ERR_CHECK_ABANDONED`). */
  readonly abandonedAudited: number;
  readonly mismatches: number;
  readonly rssStartBytes: number;
  readonly rssEndBytes: number;
  readonly fdStart: number;
  readonly fdEnd: number;
  readonly verdicts: readonly Verdict[];
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (Number.isNaN(v) ? '-' : `${v.toFixed(1)} ms`);
const pct = (v: number) => `${Math.round(v * 100)} %`;
const mb = (v: number) => `${(v / 1_048_576).toFixed(0)} MB`;

/** The table's rows as [what, figures]. */
export function tableRows(s: SoakSummary): [string, string][] {
  const statuses = Object.entries(s.badStatuses)
    .map(([status, count]) => `${status}: ${n(count)}`)
    .join(', ');
  const peak =
    s.peakRps === undefined
      ? `fixed rate`
      : `${Math.round((s.rate / s.peakRps) * 100)} % of the measured peak ${n(s.peakRps)} req/s`;
  const decided = s.envoyLines - s.refusedByEnvoy - s.extAuthzFailed;
  const abandoned =
    s.abandonedAudited === 0 ? '' : ` + ${n(s.abandonedAudited)} abandoned by Envoy's timeout`;
  return [
    [
      'Load held',
      `${n(s.rate)} req/s (${peak}) for ${(s.durationS / 60).toFixed(1)} min: ${n(s.requests)} requests, p50 ${ms(s.p50Ms)}, p99 ${ms(s.p99Ms)}, ${n(s.errors)} errors`,
    ],
    [
      'Faults survived',
      `${n(s.reloads)} hot reloads (${n(s.generationsSeen)} config generations in the audit records) and ${n(s.invalidConfigs)} invalid configs refused, under load`,
    ],
    [
      'Bad inputs tried',
      `${n(s.badTried)} (no token, expired, wrong audience, bad signature, %2e%2e and %2F paths): ${n(s.badRefused)} refused (${statuses || 'none'}), ${n(s.badTried - s.badRefused)} not`,
    ],
    [
      'Nothing lost',
      `client ${n(s.clientRequests)} = Envoy log ${n(s.envoyLines)}; decided by rolegate ${n(decided)}${abandoned} = audit records ${n(s.auditRecords)} (+${n(s.refusedByEnvoy)} refused by Envoy itself${s.extAuthzFailed === 0 ? '' : `, +${n(s.extAuthzFailed)} ext_authz timeouts`}); ${n(s.mismatches)} mismatches`,
    ],
    [
      'CPU (rolegate)',
      `${pct(s.heldRolegateCpu)} of a core at held load${s.peakRolegateCpu === undefined ? '' : `, ${pct(s.peakRolegateCpu)} at the peak`}`,
    ],
    [
      'RSS (rolegate)',
      `${mb(s.rssStartBytes)} -> ${mb(s.rssEndBytes)} (start -> end of held load)`,
    ],
    ['Open fds (rolegate)', `${s.fdStart} -> ${s.fdEnd}`],
    ...s.verdicts.map((v): [string, string] => [`${v.ok ? 'PASS' : 'FAIL'} ${v.name}`, v.detail]),
  ];
}

/** The table as aligned text for the terminal. */
export function renderText(s: SoakSummary): string {
  const rows = tableRows(s);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `rolegate soak, ${s.date} on ${s.machine}`,
    `  ${s.placement}`,
    `  load generator ceiling (node:http, closed loop, upstream directly): ${n(s.generatorCeilingRps)} req/s`,
    ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ].join('\n');
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The table as markdown (for test-output/soak-table.md and the README). */
export function renderMarkdown(s: SoakSummary): string {
  return [
    `Run ${s.date} on ${s.machine}; ${s.placement}; load generator ceiling ${n(s.generatorCeilingRps)} req/s.`,
    '',
    '| What | Result |',
    '| --- | --- |',
    ...tableRows(s).map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
    '',
  ].join('\n');
}
