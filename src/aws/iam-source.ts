/**
 * AWS IAM as a role source: lists the selected roles and reads, for each,
 * its trust policy, inline policies, attached managed policies (default
 * version) and permissions boundary. Every document is validated with the
 * policy engine; a role with any invalid document is skipped and reported,
 * the others load. Throttling, 5xx and network errors reject the whole load
 * so the caller keeps its last good set instead of a partial one.
 */
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  paginateListRoles,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import type { ErrorCode } from '../errors.js';
import { compilePolicy, formatDiagnostic } from '../policy/index.js';
import type { CompiledPolicy } from '../policy/types.js';

/** A role read from IAM whose documents all compiled. */
export interface RoleFromIam {
  /** rolegate's name for it: `RoleName`, or the ARN with `roleArnAsName`. */
  readonly name: string;
  readonly roleName: string;
  /** The real ARN, `arn:aws:iam::<account>:role/<path><name>`. */
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly trust: CompiledPolicy;
  readonly identity: readonly CompiledPolicy[];
  readonly boundary?: CompiledPolicy;
  readonly statementCount: number;
  /**
   * `Principal.Federated` values of Allow statements for
   * `sts:AssumeRoleWithWebIdentity` in the trust policy: which OIDC
   * providers AWS itself would accept for this role.
   */
  readonly webIdentityProviders: readonly string[];
  readonly warnings: readonly string[];
}

/** A role that was not loaded, and why. Never holds a document. */
export interface IamRoleProblem {
  readonly roleName: string;
  readonly arn?: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** One successful read of IAM. */
export interface IamSnapshot {
  readonly roles: readonly RoleFromIam[];
  readonly errors: readonly IamRoleProblem[];
  /** Epoch ms when the load finished. */
  readonly syncedAt: number;
}

export interface IamSourceOptions {
  /** `ListRoles` `PathPrefix`. Default `/`. */
  readonly pathPrefix?: string;
  /** Only roles carrying all of these tags. Default: no filter. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Name roles by ARN. Default false. */
  readonly roleArnAsName?: boolean;
  /** Page size for list calls. Default: the service's (100). */
  readonly pageSize?: number;
  /** Roles read in parallel. Default 4: enough to be quick, few enough not to be throttled. */
  readonly concurrency?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Managed policy versions already read, by `<arn>#<version>`. A version's
   * document never changes, so a sync can reuse it. Default: a fresh map.
   */
  readonly versionCache?: Map<string, unknown>;
}

/**
 * IAM returns documents URL-encoded (RFC 3986). moto returns some of them
 * (ListRoles, GetPolicyVersion) as plain JSON, so plain JSON is accepted
 * too: an encoded document never starts with `{`.
 */
export function decodePolicyDocument(text: string): unknown {
  const trimmed = text.trim();
  return JSON.parse(trimmed.startsWith('{') ? trimmed : decodeURIComponent(trimmed)) as unknown;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function allowsWebIdentity(action: unknown): boolean {
  return asList(action).some(
    (a) =>
      typeof a === 'string' &&
      ['sts:assumerolewithwebidentity', 'sts:*', '*'].includes(a.toLowerCase()),
  );
}

/** Federated principals that an Allow statement trusts for web identity. */
export function webIdentityProviders(trust: unknown): string[] {
  const out = new Set<string>();
  if (typeof trust !== 'object' || trust === null) return [];
  for (const stmt of asList((trust as Record<string, unknown>)['Statement'])) {
    if (typeof stmt !== 'object' || stmt === null) continue;
    const s = stmt as Record<string, unknown>;
    if (s['Effect'] !== 'Allow' || !allowsWebIdentity(s['Action'])) continue;
    const principal = s['Principal'];
    if (typeof principal !== 'object' || principal === null) continue;
    for (const f of asList((principal as Record<string, unknown>)['Federated'])) {
      if (typeof f === 'string') out.add(f);
    }
  }
  return [...out];
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects on the first failure. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

function isNoSuchEntity(err: unknown): boolean {
  return err instanceof Error && err.name === 'NoSuchEntityException';
}

/** A document that failed to decode or compile; the role it belongs to is skipped. */
class InvalidDocument extends Error {}

interface Fetched {
  readonly name: string;
  readonly origin: string;
  readonly document: unknown;
}

/** Reads the selected roles from IAM. Rejects on throttling, 5xx and network errors. */
export async function loadIamRoles(
  client: IAMClient,
  options: IamSourceOptions = {},
): Promise<IamSnapshot> {
  const now = options.now ?? Date.now;
  const wantTags = Object.entries(options.tags ?? {});
  const versions = options.versionCache ?? new Map<string, unknown>();
  const page = options.pageSize === undefined ? {} : { pageSize: options.pageSize };

  const listed: Role[] = [];
  for await (const p of paginateListRoles(
    { client, ...page },
    { PathPrefix: options.pathPrefix ?? '/' },
  )) {
    listed.push(...(p.Roles ?? []));
  }

  // One read per managed policy per sync, however many roles attach it.
  const managed = new Map<string, Promise<Fetched>>();
  const readManaged = (arn: string, name: string): Promise<Fetched> => {
    let pending = managed.get(arn);
    if (!pending) {
      pending = (async () => {
        const policy = await client.send(new GetPolicyCommand({ PolicyArn: arn }));
        const version = policy.Policy?.DefaultVersionId;
        if (version === undefined) throw new InvalidDocument(`${arn}: no default version`);
        const key = `${arn}#${version}`;
        let document = versions.get(key);
        if (document === undefined) {
          const v = await client.send(
            new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: version }),
          );
          document = parseDocument(v.PolicyVersion?.Document, `${arn} ${version}`);
          versions.set(key, document);
        }
        return { name: policy.Policy?.PolicyName ?? name, origin: arn, document };
      })();
      managed.set(arn, pending);
    }
    return pending;
  };

  const roles: RoleFromIam[] = [];
  const errors: IamRoleProblem[] = [];
  await mapLimit(listed, options.concurrency ?? 4, async (summary) => {
    const roleName = summary.RoleName ?? '';
    try {
      const got = await client.send(new GetRoleCommand({ RoleName: roleName }));
      const role = got.Role;
      if (!role?.Arn) return;
      const tags = Object.fromEntries((role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      if (!wantTags.every(([k, v]) => tags[k] === v)) return;
      const trustDoc = parseDocument(role.AssumeRolePolicyDocument, `${roleName} trust policy`);

      const inline: Fetched[] = [];
      for await (const p of paginateListRolePolicies({ client, ...page }, { RoleName: roleName })) {
        for (const policyName of p.PolicyNames ?? []) {
          const doc = await client.send(
            new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }),
          );
          inline.push({
            name: policyName,
            origin: role.Arn,
            document: parseDocument(doc.PolicyDocument, `${roleName} inline policy ${policyName}`),
          });
        }
      }
      const attached: Fetched[] = [];
      for await (const p of paginateListAttachedRolePolicies(
        { client, ...page },
        { RoleName: roleName },
      )) {
        for (const a of p.AttachedPolicies ?? []) {
          if (a.PolicyArn) attached.push(await readManaged(a.PolicyArn, a.PolicyName ?? ''));
        }
      }
      const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
      const boundaryDoc = boundaryArn ? await readManaged(boundaryArn, 'boundary') : undefined;

      const problems: string[] = [];
      const warnings: string[] = [];
      let statementCount = 0;
      const compile = (f: Fetched, kind: 'identity' | 'trust', name = f.name) => {
        const result = compilePolicy(f.document, { name, file: f.origin, kind });
        for (const d of result.diagnostics) {
          (d.severity === 'error' ? problems : warnings).push(formatDiagnostic(d));
        }
        if (result.policy) statementCount += result.policy.statementCount;
        return result.policy;
      };
      const trust = compile(
        { name: `${roleName}/trust`, origin: role.Arn, document: trustDoc },
        'trust',
      );
      const identity = [...inline, ...attached].map((f) => compile(f, 'identity'));
      const boundary = boundaryDoc && compile(boundaryDoc, 'identity', `${roleName}/boundary`);
      if (problems.length > 0 || !trust || identity.some((p) => p === undefined)) {
        errors.push({
          roleName,
          arn: role.Arn,
          code: 'ERR_IAM_ROLE_INVALID',
          message: problems.join('\n'),
        });
        return;
      }
      roles.push({
        name: options.roleArnAsName ? role.Arn : roleName,
        roleName,
        arn: role.Arn,
        tags,
        trust,
        identity: identity as CompiledPolicy[],
        ...(boundary ? { boundary } : {}),
        statementCount,
        webIdentityProviders: webIdentityProviders(trustDoc),
        warnings,
      });
    } catch (err) {
      if (err instanceof InvalidDocument) {
        errors.push({ roleName, code: 'ERR_IAM_ROLE_INVALID', message: err.message });
        return;
      }
      // Deleted (or its policy detached) between the list and the read: it is gone.
      if (isNoSuchEntity(err)) return;
      throw err;
    }
  });
  // Keep ListRoles order so role selection is stable from one sync to the next.
  const order = new Map(listed.map((r, i) => [r.RoleName ?? '', i]));
  roles.sort((a, b) => (order.get(a.roleName) ?? 0) - (order.get(b.roleName) ?? 0));
  errors.sort((a, b) => (order.get(a.roleName) ?? 0) - (order.get(b.roleName) ?? 0));
  return { roles, errors, syncedAt: now() };
}

function parseDocument(text: string | undefined, what: string): unknown {
  if (text === undefined) throw new InvalidDocument(`${what}: missing document`);
  try {
    return decodePolicyDocument(text);
  } catch {
    // Never echo the document: it may be large and is not ours to log.
    throw new InvalidDocument(`${what}: ERR_POLICY_SYNTAX: the document is not valid JSON`);
  }
}
