// Reads a secret's current value from AWS Secrets Manager (the Lambda entry's tokens): a client from
// AWS's own environment, every call bounded in time, so that only adapters import an AWS SDK.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type SecretReader = (secretId: string) => Promise<string>;

export function secretsManagerReader(opts: { requestTimeoutMs?: number } = {}): SecretReader {
  const timeout = opts.requestTimeoutMs ?? 2_000;
  const client = new SecretsManagerClient({ maxAttempts: 3, requestHandler: { connectionTimeout: timeout, requestTimeout: timeout } });
  return async (secretId) => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: AbortSignal.timeout(2 * timeout) });
    if (SecretString === undefined) throw new Error(`secret ${secretId} holds no string`);
    return SecretString;
  };
}
