/**
 * IAM roles created in moto through the real IAM API, as the AWS suites and
 * benchmarks need them: a role that any token of a federated provider may
 * assume (AssumeRoleWithWebIdentity), with one inline policy.
 */
import { CreateRoleCommand, PutRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';

/** An identity policy allowing `actions` on every resource. */
export function allowActions(actions: readonly string[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
  });
}

/** Creates `name` under `path`, trusted by `provider`, with the inline policy `inline` allowing `actions`. */
export async function createWebIdentityRole(
  iam: IAMClient,
  role: {
    readonly name: string;
    readonly path: string;
    readonly provider: string;
    readonly actions: readonly string[];
    readonly inline?: string;
  },
): Promise<void> {
  await iam.send(
    new CreateRoleCommand({
      RoleName: role.name,
      Path: role.path,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: role.provider },
            Action: 'sts:AssumeRoleWithWebIdentity',
          },
        ],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: role.name,
      PolicyName: role.inline ?? 'orders',
      PolicyDocument: allowActions(role.actions),
    }),
  );
}
