/**
 * AWS IAM as a role source: lists the selected roles and reads, for each,
 * its trust policy, inline policies, attached managed policies (default
 * version) and permissions boundary. Every document is validated with the
 * policy engine; a role with any invalid document is skipped and reported,
 * the others load. Throttling, 5xx and network errors reject the whole load
 * so the caller keeps its last good set instead of a partial one.
 */
import type { IAMClient, Role } from '@aws-sdk/client-iam';
import type { ErrorCode } from '../errors.js';
import { iamSdk } from './sdk.js';
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

/**
 * Role names in code point order: the order of every read, whichever IAM
 * API answered it (their own orders differ), so role selection does not
 * change with the API.
 */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A role's inline policies by name and attached ones by ARN: the same
 * order from either IAM API (order never changes a decision, but it is
 * what the audit's determining statements list and what a snapshot hashes).
 */
export function sortedDocuments(
  inline: FetchedDocument[],
  attached: FetchedDocument[],
): { inline: FetchedDocument[]; attached: FetchedDocument[] } {
  return {
    inline: inline.sort((a, b) => byName(a.name, b.name)),
    attached: attached.sort((a, b) => byName(a.origin, b.origin)),
  };
}

/** IAM says the entity is gone (deleted between two calls of one read). */
export function isNoSuchEntity(err: unknown): boolean {
  return err instanceof Error && err.name === 'NoSuchEntityException';
}

/** A document that failed to decode or compile; the role it belongs to is skipped. */
export class InvalidDocument extends Error {}

/** One policy document as read from IAM (decoded JSON, not yet compiled). */
export interface FetchedDocument {
  readonly name: string;
  /** The ARN it came from: the role's for inline policies, the policy's for managed ones. */
  readonly origin: string;
  readonly document: unknown;
}

/** One selected role as read from IAM: plain JSON, so it can cross a process boundary. */
export interface FetchedRole {
  readonly roleName: string;
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly trust: unknown;
  readonly inline: readonly FetchedDocument[];
  readonly attached: readonly FetchedDocument[];
  readonly boundary?: FetchedDocument;
}

/**
 * One read of IAM before compilation: the selected roles in role name order,
 * and the roles whose documents could not even be decoded. Plain JSON: a
 * cluster's primary reads IAM once and hands this to every worker, which
 * compiles it ({@link compileIamRoles}).
 */
export interface IamFetch {
  readonly roles: readonly FetchedRole[];
  readonly problems: readonly IamRoleProblem[];
  /**
   * Every listed role name, sorted by name (code points): problems from both
   * phases are reported in it, and both ways of reading IAM give one order.
   */
  readonly listed: readonly string[];
  /** Epoch ms when the read finished. */
  readonly syncedAt: number;
  /** Which IAM calls read it: `details` (GetAccountAuthorizationDetails) or `per-role`. */
  readonly readWith?: 'details' | 'per-role';
}

/** Reads the selected roles from IAM and compiles them. Rejects on throttling, 5xx and network errors. */
export async function loadIamRoles(
  client: IAMClient,
  options: IamSourceOptions = {},
): Promise<IamSnapshot> {
  return compileIamRoles(await fetchIamRoles(client, options), options);
}

/**
 * Reads managed policies (default version) by ARN: one read per policy per
 * sync however many roles attach it (`GetPolicy`, then `GetPolicyVersion`
 * unless `versions` already holds that version, since a version's document
 * never changes).
 */
export function managedPolicyReader(
  client: IAMClient,
  versions: Map<string, unknown>,
): (arn: string, name: string) => Promise<FetchedDocument> {
  const managed = new Map<string, Promise<FetchedDocument>>();
  return (arn, name) => {
    let pending = managed.get(arn);
    if (!pending) {
      pending = (async () => {
        const { GetPolicyCommand, GetPolicyVersionCommand } = await iamSdk();
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
}

/** Reads the selected roles' documents from IAM. Rejects on throttling, 5xx and network errors. */
export async function fetchIamRoles(
  client: IAMClient,
  options: IamSourceOptions = {},
): Promise<IamFetch> {
  const {
    GetRoleCommand,
    GetRolePolicyCommand,
    paginateListAttachedRolePolicies,
    paginateListRolePolicies,
    paginateListRoles,
  } = await iamSdk();
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
  listed.sort((a, b) => byName(a.RoleName ?? '', b.RoleName ?? ''));

  const readManaged = managedPolicyReader(client, versions);

  const fetched: FetchedRole[] = [];
  const problems: IamRoleProblem[] = [];
  await mapLimit(listed, options.concurrency ?? 4, async (summary) => {
    const roleName = summary.RoleName ?? '';
    try {
      const got = await client.send(new GetRoleCommand({ RoleName: roleName }));
      const role = got.Role;
      if (!role?.Arn) return;
      const tags = Object.fromEntries((role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      if (!wantTags.every(([k, v]) => tags[k] === v)) return;
      const trust = parseDocument(role.AssumeRolePolicyDocument, `${roleName} trust policy`);

      const inline: FetchedDocument[] = [];
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
      const attached: FetchedDocument[] = [];
      for await (const p of paginateListAttachedRolePolicies(
        { client, ...page },
        { RoleName: roleName },
      )) {
        for (const a of p.AttachedPolicies ?? []) {
          if (a.PolicyArn) attached.push(await readManaged(a.PolicyArn, a.PolicyName ?? ''));
        }
      }
      const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
      const boundary = boundaryArn ? await readManaged(boundaryArn, 'boundary') : undefined;
      fetched.push({
        roleName,
        arn: role.Arn,
        tags,
        trust,
        ...sortedDocuments(inline, attached),
        ...(boundary ? { boundary } : {}),
      });
    } catch (err) {
      if (err instanceof InvalidDocument) {
        problems.push({ roleName, code: 'ERR_IAM_ROLE_INVALID', message: err.message });
        return;
      }
      // Deleted (or its policy detached) between the list and the read: it is gone.
      if (isNoSuchEntity(err)) return;
      throw err;
    }
  });
  // Keep the listed order so role selection is stable from one sync to the next.
  const order = new Map(listed.map((r, i) => [r.RoleName ?? '', i]));
  const byListOrder = (a: { roleName: string }, b: { roleName: string }) =>
    (order.get(a.roleName) ?? 0) - (order.get(b.roleName) ?? 0);
  fetched.sort(byListOrder);
  problems.sort(byListOrder);
  return {
    roles: fetched,
    problems,
    listed: listed.map((r) => r.RoleName ?? ''),
    syncedAt: now(),
  };
}

/**
 * Compiles a read of IAM with the policy engine: a role with any invalid
 * document is skipped and reported, the others load (listed order kept).
 */
export function compileIamRoles(
  fetch: IamFetch,
  options: Pick<IamSourceOptions, 'roleArnAsName'> = {},
): IamSnapshot {
  const roles: RoleFromIam[] = [];
  const errors: IamRoleProblem[] = [...fetch.problems];
  for (const role of fetch.roles) {
    const { roleName, arn } = role;
    const problems: string[] = [];
    const warnings: string[] = [];
    let statementCount = 0;
    const compile = (f: FetchedDocument, kind: 'identity' | 'trust', name = f.name) => {
      const result = compilePolicy(f.document, { name, file: f.origin, kind });
      for (const d of result.diagnostics) {
        (d.severity === 'error' ? problems : warnings).push(formatDiagnostic(d));
      }
      if (result.policy) statementCount += result.policy.statementCount;
      return result.policy;
    };
    const trust = compile(
      { name: `${roleName}/trust`, origin: arn, document: role.trust },
      'trust',
    );
    const identity = [...role.inline, ...role.attached].map((f) => compile(f, 'identity'));
    const boundary = role.boundary && compile(role.boundary, 'identity', `${roleName}/boundary`);
    if (problems.length > 0 || !trust || identity.some((p) => p === undefined)) {
      errors.push({ roleName, arn, code: 'ERR_IAM_ROLE_INVALID', message: problems.join('\n') });
      continue;
    }
    roles.push({
      name: options.roleArnAsName ? arn : roleName,
      roleName,
      arn,
      tags: role.tags,
      trust,
      identity: identity as CompiledPolicy[],
      ...(boundary ? { boundary } : {}),
      statementCount,
      webIdentityProviders: webIdentityProviders(role.trust),
      warnings,
    });
  }
  // Problems found while reading and while compiling, together in listed order.
  const order = new Map(fetch.listed.map((name, i) => [name, i]));
  errors.sort((a, b) => (order.get(a.roleName) ?? 0) - (order.get(b.roleName) ?? 0));
  return { roles, errors, syncedAt: fetch.syncedAt };
}

/** A document as IAM returns it, decoded; {@link InvalidDocument} when it is missing or not JSON. */
export function parseDocument(text: string | undefined, what: string): unknown {
  if (text === undefined) throw new InvalidDocument(`${what}: missing document`);
  try {
    return decodePolicyDocument(text);
  } catch {
    // Never echo the document: it may be large and is not ours to log.
    throw new InvalidDocument(`${what}: ERR_POLICY_SYNTAX: the document is not valid JSON`);
  }
}
