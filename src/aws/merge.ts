/**
 * File config + IAM: the roles of one configuration generation. File roles come
 * first and win a name (or ARN) clash; IAM roles follow in ListRoles order
 * and get the same guardrails as file roles.
 */
import {
  collectVariableKeys,
  type CompiledConfig,
  type CompiledRole,
} from '../generation/compiled-config.js';
import type { DecidedRole } from '../decision/parties.js';
import { RolegateError } from '../errors.js';
import { createPolicySet } from '../policy/index.js';
import type { IamRoleProblem, IamSnapshot, RoleFromIam } from './iam-source.js';

/** A compiled role that came from IAM; the STS broker looks at its trust. */
export interface IamRole extends CompiledRole {
  readonly source: 'iam';
  /** See {@link RoleFromIam.webIdentityProviders}. */
  readonly webIdentityProviders: readonly string[];
}

/** True for roles loaded from IAM. */
export function isIamRole(role: DecidedRole): role is IamRole {
  return (role as Partial<IamRole>).source === 'iam';
}

/** The compiled config with IAM roles appended, and the IAM roles a file role shadowed. */
export function mergeIamRoles<R extends CompiledConfig>(
  file: R,
  snapshot: IamSnapshot | undefined,
): { compiled: R; clashes: IamRoleProblem[] } {
  if (!snapshot || snapshot.roles.length === 0) return { compiled: file, clashes: [] };
  const guardrails = file.guardrails;
  // Fail closed: without the compiled guardrails, IAM roles would escape them.
  if (guardrails === undefined && file.settings.guardrails.length > 0) {
    throw new RolegateError('ERR_INTERNAL', 'compiled guardrails are not available');
  }
  const names = new Set(file.roles.map((r) => r.name));
  const arns = new Set(file.roles.map((r) => r.arn));
  const roles: CompiledRole[] = [...file.roles];
  const clashes: IamRoleProblem[] = [];
  let statementCount = file.statementCount;
  const warnings = [...file.warnings];
  const variableKeys = new Set(file.variableKeys);
  for (const role of snapshot.roles) {
    if (names.has(role.name) || arns.has(role.arn)) {
      clashes.push({
        roleName: role.roleName,
        arn: role.arn,
        code: 'ERR_IAM_ROLE_NAME_CLASH',
        message: `the config file defines a role named ${role.name} (or with ARN ${role.arn}); the file role is used`,
      });
      continue;
    }
    names.add(role.name);
    roles.push(toCompiledRole(role, guardrails ?? []));
    collectVariableKeys([role.trust, ...role.identity, role.boundary], variableKeys);
    statementCount += role.statementCount;
    warnings.push(...role.warnings);
  }
  return { compiled: { ...file, roles, statementCount, warnings, variableKeys }, clashes };
}

function toCompiledRole(
  role: RoleFromIam,
  guardrails: NonNullable<CompiledConfig['guardrails']>,
): IamRole {
  return {
    name: role.name,
    arn: role.arn,
    trust: createPolicySet({ identity: [role.trust] }),
    permissions: createPolicySet({
      guardrails,
      identity: role.identity,
      ...(role.boundary ? { boundary: [role.boundary] } : {}),
    }),
    source: 'iam',
    webIdentityProviders: role.webIdentityProviders,
  };
}
