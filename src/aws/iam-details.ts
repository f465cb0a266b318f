/**
 * IAM read with the fewest calls IAM offers for it: `GetAccountAuthorizationDetails`
 * (filtered to roles and customer managed policies, paged) returns every
 * role with its trust policy, inline documents, attached policies,
 * boundary and tags, and every customer managed policy with its versions.
 * One sync of 100 roles is then one or two calls instead of several
 * hundred (ListRoles, GetRole, the policy listings and reads per role).
 * AWS managed policies are not in the answer (asking for them returns the
 * whole AWS catalogue); the ones a selected role attaches are read one by
 * one, like the per-role read does.
 */
import type { IAMClient, ManagedPolicyDetail, RoleDetail } from '@aws-sdk/client-iam';
import {
  byName,
  InvalidDocument,
  isNoSuchEntity,
  managedPolicyReader,
  parseDocument,
  sortedDocuments,
  type FetchedDocument,
  type FetchedRole,
  type IamFetch,
  type IamRoleProblem,
  type IamSourceOptions,
} from './iam-source.js';
import { iamSdk } from './sdk.js';

/** Everything one paged read of the account's authorization details returned. */
interface AccountDetails {
  readonly roles: RoleDetail[];
  /** Customer managed policies by ARN. */
  readonly policies: Map<string, ManagedPolicyDetail>;
}

async function readAccountDetails(
  client: IAMClient,
  pageSize: number | undefined,
): Promise<AccountDetails> {
  const { GetAccountAuthorizationDetailsCommand } = await iamSdk();
  const roles: RoleDetail[] = [];
  const policies = new Map<string, ManagedPolicyDetail>();
  let marker: string | undefined;
  do {
    const page = await client.send(
      new GetAccountAuthorizationDetailsCommand({
        Filter: ['Role', 'LocalManagedPolicy'],
        ...(marker === undefined ? {} : { Marker: marker }),
        ...(pageSize === undefined ? {} : { MaxItems: pageSize }),
      }),
    );
    roles.push(...(page.RoleDetailList ?? []));
    for (const p of page.Policies ?? []) if (p.Arn !== undefined) policies.set(p.Arn, p);
    marker = page.IsTruncated === true ? page.Marker : undefined;
  } while (marker !== undefined);
  return { roles, policies };
}

/** The default version of a customer managed policy, from the details answer. */
function defaultDocument(policy: ManagedPolicyDetail, arn: string): FetchedDocument {
  const version = (policy.PolicyVersionList ?? []).find(
    (v) => v.IsDefaultVersion === true || v.VersionId === policy.DefaultVersionId,
  );
  if (version === undefined) throw new InvalidDocument(`${arn}: no default version`);
  return {
    // A policy's name is the last segment of its ARN (`policy/<path><name>`).
    name: policy.PolicyName ?? arn.slice(arn.lastIndexOf('/') + 1),
    origin: arn,
    document: parseDocument(version.Document, `${arn} ${version.VersionId ?? ''}`),
  };
}

/** One role of the details answer as the per-role read would have fetched it. */
async function fetchedRole(
  role: RoleDetail & { RoleName: string; Arn: string },
  tags: Record<string, string>,
  managed: (arn: string, name: string) => Promise<FetchedDocument>,
): Promise<FetchedRole> {
  const { RoleName: roleName, Arn: arn } = role;
  const trust = parseDocument(role.AssumeRolePolicyDocument, `${roleName} trust policy`);
  const inline = (role.RolePolicyList ?? []).map((p) => ({
    name: p.PolicyName ?? '',
    origin: arn,
    document: parseDocument(p.PolicyDocument, `${roleName} inline policy ${p.PolicyName ?? ''}`),
  }));
  const attached: FetchedDocument[] = [];
  for (const a of role.AttachedManagedPolicies ?? []) {
    if (a.PolicyArn) attached.push(await managed(a.PolicyArn, a.PolicyName ?? ''));
  }
  const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
  const boundary = boundaryArn ? await managed(boundaryArn, 'boundary') : undefined;
  return {
    roleName,
    arn,
    tags,
    trust,
    ...sortedDocuments(inline, attached),
    ...(boundary ? { boundary } : {}),
  };
}

/**
 * Reads the selected roles' documents with `GetAccountAuthorizationDetails`:
 * the same {@link IamFetch} as `fetchIamRoles`, for the same selection
 * (path prefix, tags). Rejects as the SDK does (AccessDenied included: the
 * caller then falls back to the per-role read).
 */
export async function fetchIamRolesByDetails(
  client: IAMClient,
  options: IamSourceOptions = {},
): Promise<IamFetch> {
  const now = options.now ?? Date.now;
  const prefix = options.pathPrefix ?? '/';
  const wantTags = Object.entries(options.tags ?? {});
  const details = await readAccountDetails(client, options.pageSize);
  const perPolicy = managedPolicyReader(client, options.versionCache ?? new Map());
  const managed = async (arn: string, name: string) => {
    const local = details.policies.get(arn);
    return local === undefined ? perPolicy(arn, name) : defaultDocument(local, arn);
  };

  const listed = details.roles
    .filter(
      (r): r is RoleDetail & { RoleName: string; Arn: string } =>
        r.RoleName !== undefined && r.Arn !== undefined && (r.Path ?? '/').startsWith(prefix),
    )
    .sort((a, b) => byName(a.RoleName, b.RoleName));
  const roles: FetchedRole[] = [];
  const problems: IamRoleProblem[] = [];
  for (const role of listed) {
    const tags = Object.fromEntries((role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    if (!wantTags.every(([k, v]) => tags[k] === v)) continue;
    try {
      roles.push(await fetchedRole(role, tags, managed));
    } catch (err) {
      if (err instanceof InvalidDocument) {
        problems.push({
          roleName: role.RoleName,
          code: 'ERR_IAM_ROLE_INVALID',
          message: err.message,
        });
      } else if (!isNoSuchEntity(err)) {
        throw err;
      }
    }
  }
  return { roles, problems, listed: listed.map((r) => r.RoleName), syncedAt: now() };
}
