/**
 * The AWS SDK clients, loaded on first use. Why: the IAM and STS clients
 * are the largest dependencies rolegate has (about 9 MB of V8 heap and
 * 25 MB of resident memory once loaded, measured in docs/performance.md),
 * and a deployment without `aws.iam`, `aws.sts` or credential routes never
 * calls them. Each loads once per process; a failure to load rejects the
 * call that needed it, which fails closed like any other SDK error.
 */
import type * as IamModule from '@aws-sdk/client-iam';
import type * as StsModule from '@aws-sdk/client-sts';

/** The `@aws-sdk/client-iam` module. */
export type IamSdk = typeof IamModule;
/** The `@aws-sdk/client-sts` module. */
export type StsSdk = typeof StsModule;

let iam: Promise<IamSdk> | undefined;
let sts: Promise<StsSdk> | undefined;

/** `@aws-sdk/client-iam`, imported at the first call. */
export function iamSdk(): Promise<IamSdk> {
  return (iam ??= import('@aws-sdk/client-iam'));
}

/** `@aws-sdk/client-sts`, imported at the first call. */
export function stsSdk(): Promise<StsSdk> {
  return (sts ??= import('@aws-sdk/client-sts'));
}
