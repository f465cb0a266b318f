/**
 * Temporary credentials for a person, in the AWS CLI's `credential_process`
 * shape (Version 1), for `rolegate credentials --role NAME`: AssumeRole with
 * rolegate's own credentials, a session named after the caller (also the
 * SourceIdentity, so CloudTrail shows who), and the duration the caller's
 * access allows. The answer holds secrets: never log it.
 */
import { RolegateError } from '../errors.js';
import type { AwsConfig } from './config.js';
import { clientConfig } from './integration.js';
import { sessionNameFor } from './sts-broker.js';
import { stsSdk } from './sdk.js';

/** The shortest session STS issues, in seconds. */
export const STS_MIN_SECONDS = 900;

/** credential_process output, Version 1. */
export interface CredentialProcessOutput {
  readonly Version: 1;
  readonly AccessKeyId: string;
  readonly SecretAccessKey: string;
  readonly SessionToken: string;
  /** ISO 8601. */
  readonly Expiration: string;
}

/** Assumes `roleArn` for `subject` for `durationSeconds` (900 or more); rejects with `ERR_STS_FAILED`. */
export async function credentialProcess(
  aws: AwsConfig | undefined,
  roleArn: string,
  subject: string,
  durationSeconds: number,
): Promise<CredentialProcessOutput> {
  const name = sessionNameFor(subject);
  const { AssumeRoleCommand, STSClient } = await stsSdk();
  const client = new STSClient(clientConfig(aws));
  try {
    const c = (
      await client.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: name,
          SourceIdentity: name,
          DurationSeconds: durationSeconds,
        }),
      )
    ).Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new RolegateError('ERR_STS_FAILED', `AssumeRole ${roleArn}: incomplete answer`);
    }
    return {
      Version: 1,
      AccessKeyId: c.AccessKeyId,
      SecretAccessKey: c.SecretAccessKey,
      SessionToken: c.SessionToken,
      Expiration: c.Expiration.toISOString(),
    };
  } catch (err) {
    if (err instanceof RolegateError) throw err;
    throw new RolegateError(
      'ERR_STS_FAILED',
      `AssumeRole ${roleArn}: ${err instanceof Error ? err.name : 'error'}`,
    );
  } finally {
    client.destroy();
  }
}
