/**
 * `rolegate report usage --audit FILE... --config FILE [--since DURATION]`:
 * least privilege from real use, like IAM Access Analyzer's policy
 * generation from CloudTrail. Per role of the configuration: the actions
 * and resources it actually allowed, the statements that never decided a
 * request, whether anybody assumed it, and a generated policy holding only
 * what was used (docs/safe-changes.md#least-privilege-from-real-use).
 */
import type { PlacedPolicy, LoadedConfig } from '../config/compile.js';
import { isRecord } from '../options/fields.js';
import {
  formatReadSummary,
  str,
  strings,
  totalCounts,
  type AuditCounts,
  type AuditLines,
} from './audit-files.js';

/** One role's usage. */
export interface RoleUsage {
  readonly role: string;
  readonly arn: string;
  /** Decisions whose evaluated roles included this one (its trust policy admitted the caller). */
  readonly assumed: number;
  /** Allows this role decided. */
  readonly allowed: number;
  /** Allowed actions and how often. */
  readonly actions: Readonly<Record<string, number>>;
  /** Allowed resources (exact), sorted. */
  readonly resources: readonly string[];
  /** Statements of its policies, boundary and the guardrails that never decided a request of it, as `layer:policy/statement:Effect`. */
  readonly unusedStatements: readonly string[];
  /** The generated least-privilege policy (absent when the role allowed nothing). */
  readonly policy?: GeneratedPolicy;
}

/** An IAM policy document. */
export interface GeneratedPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly {
    readonly Sid: string;
    readonly Effect: 'Allow';
    readonly Action: readonly string[];
    readonly Resource: readonly string[];
  }[];
}

/** The report. */
export interface UsageReport {
  /** Decision records read (after `--since`). */
  readonly decisions: number;
  /** What the files held: lines, records, lines skipped and why, records before `--since`. */
  readonly read: AuditCounts;
  readonly roles: readonly RoleUsage[];
  /** Roles no decision evaluated: nobody assumed them. */
  readonly unassumedRoles: readonly string[];
}

/** Every statement of a placed policy, as `layer:policy/statement:Effect`. */
function statementsOf(p: PlacedPolicy): string[] {
  const doc = p.resolved.document;
  if (!isRecord(doc)) return [];
  const raw = doc['Statement'];
  const list: unknown[] = Array.isArray(raw) ? raw : [raw];
  return list.flatMap((s, i) => {
    if (!isRecord(s)) return [];
    const sid = typeof s['Sid'] === 'string' ? s['Sid'] : `#${i}`;
    const effect = s['Effect'] === 'Deny' ? 'Deny' : 'Allow';
    return [`${p.layer}:${p.resolved.ref.name}/${sid}:${effect}`];
  });
}

/**
 * Collapses resources: those sharing everything up to their last `/` (or,
 * without one, their last `:`) become `prefix/*` when more than one was
 * seen; a single one stays exact.
 */
export function collapseResources(resources: readonly string[]): string[] {
  const groups = new Map<string, Set<string>>();
  for (const r of resources) {
    const cut = r.includes('/') ? r.lastIndexOf('/') : r.lastIndexOf(':');
    const prefix = cut < 0 ? r : r.slice(0, cut + 1);
    const g = groups.get(prefix) ?? new Set<string>();
    g.add(r);
    groups.set(prefix, g);
  }
  const out: string[] = [];
  for (const [prefix, g] of groups) {
    if (g.size > 1) out.push(`${prefix}*`);
    else out.push(...g);
  }
  return out.sort();
}

/**
 * The least-privilege policy for `pairs` of allowed action and resource:
 * one statement per set of collapsed resources, its actions sorted.
 */
export function generatePolicy(
  pairs: readonly (readonly [string, string])[],
): GeneratedPolicy | undefined {
  if (pairs.length === 0) return undefined;
  const byAction = new Map<string, string[]>();
  for (const [action, resource] of pairs) {
    const list = byAction.get(action) ?? [];
    if (!list.includes(resource)) list.push(resource);
    byAction.set(action, list);
  }
  const byResources = new Map<string, { actions: string[]; resources: string[] }>();
  for (const [action, resources] of byAction) {
    const collapsed = collapseResources(resources);
    const key = collapsed.join('\n');
    const entry = byResources.get(key) ?? { actions: [], resources: collapsed };
    entry.actions.push(action);
    byResources.set(key, entry);
  }
  const statements = [...byResources.values()]
    .map((e) => ({ actions: e.actions.sort(), resources: e.resources }))
    .sort((a, b) => (a.actions[0] ?? '').localeCompare(b.actions[0] ?? ''));
  return {
    Version: '2012-10-17',
    Statement: statements.map((e, i) => ({
      Sid: `Observed${i + 1}`,
      Effect: 'Allow',
      Action: e.actions,
      Resource: e.resources,
    })),
  };
}

/** Builds the report for the roles of `config` from the decision records of `lines`. */
export function usageReport(lines: AuditLines, config: LoadedConfig): UsageReport {
  const documents = config.documents ?? [];
  const roles = config.settings.roles.map((role): RoleUsage => {
    let assumed = 0;
    let allowed = 0;
    const actions: Record<string, number> = {};
    const resources = new Set<string>();
    const pairs: [string, string][] = [];
    const matched = new Set<string>();
    const own = documents.filter(
      (d) => d.layer !== 'trust' && (d.role === role.name || d.layer === 'guardrail'),
    );
    const ownPolicies = new Set(own.map((d) => d.resolved.ref.name));
    for (const { record } of lines.decisions) {
      if (!strings(record, 'roles_considered').includes(role.name)) continue;
      assumed++;
      const allow = str(record, 'decision') === 'allow' && str(record, 'role') === role.arn;
      for (const d of strings(record, 'determining')) {
        // An allow names its role; a deny's statements are this role's when its policy is.
        const policy = /^[a-z]+:(.*)\/[^/]*:(?:Allow|Deny)$/.exec(d)?.[1];
        if (allow || (policy !== undefined && ownPolicies.has(policy))) matched.add(d);
      }
      if (!allow) continue;
      allowed++;
      const action = str(record, 'action');
      const resource = str(record, 'resource');
      if (action === undefined || resource === undefined) continue;
      actions[action] = (actions[action] ?? 0) + 1;
      resources.add(resource);
      pairs.push([action, resource]);
    }
    const unused = own.flatMap(statementsOf).filter((s) => !matched.has(s));
    const policy = generatePolicy(pairs);
    return {
      role: role.name,
      arn: role.arn,
      assumed,
      allowed,
      actions,
      resources: [...resources].sort(),
      unusedStatements: [...new Set(unused)],
      ...(policy === undefined ? {} : { policy }),
    };
  });
  return {
    decisions: lines.decisions.length,
    read: totalCounts(lines),
    roles,
    unassumedRoles: roles.filter((r) => r.assumed === 0).map((r) => r.role),
  };
}

/** The text form of the report. */
export function formatUsageReport(r: UsageReport, files: number, since?: string): string {
  const out: string[] = [
    `Usage from ${r.decisions} decision(s) in ${files} file(s)${since === undefined ? '' : ` (last ${since})`}`,
    formatReadSummary(r.read, since),
    '',
  ];
  for (const u of r.roles) {
    out.push(`role ${u.role} (${u.arn}): assumed in ${u.assumed}, allowed ${u.allowed}`);
    const acts = Object.entries(u.actions)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([a, n]) => `${a} (${n})`);
    out.push(`  actions allowed:   ${acts.length === 0 ? 'none' : acts.join(', ')}`);
    out.push(
      `  resources allowed: ${u.resources.length === 0 ? 'none' : `${collapseResources(u.resources).join(', ')} (${u.resources.length} distinct)`}`,
    );
    out.push(
      `  never matched:     ${u.unusedStatements.length === 0 ? 'none' : u.unusedStatements.join(', ')}`,
    );
    if (u.policy !== undefined) {
      out.push('  least-privilege policy:');
      for (const line of JSON.stringify(u.policy, null, 2).split('\n')) out.push(`    ${line}`);
    }
    out.push('');
  }
  out.push(
    `Roles nobody assumed: ${r.unassumedRoles.length === 0 ? 'none' : r.unassumedRoles.join(', ')}`,
  );
  return `${out.join('\n')}\n`;
}
