// The CDK app (`npm run synth`, `npm run deploy:aws`; see docs/deploy-aws.md). Everything it takes is
// CDK context, e.g. `npm run deploy:aws -- -c REGISTRAR_AGENT_TIMEOUT=90s -c apiConcurrency=50`.
import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RegistrarStack } from './stack.ts';

const app = new App();
const context = (name: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const number = (name: string): number | undefined => {
  const text = context(name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`-c ${name}=${text}: a whole number ≥ 1, please`);
  return n;
};

// Every REGISTRAR_* context value is a setting for both functions.
const settings: Record<string, string> = {};
for (const [name, value] of Object.entries(app.node.getAllContext())) {
  if (name.startsWith('REGISTRAR_')) settings[name] = String(value);
}

const retentionDays = number('logRetentionDays');
if (retentionDays !== undefined && !Object.values(RetentionDays).includes(retentionDays)) {
  throw new Error(`-c logRetentionDays=${retentionDays}: CloudWatch Logs keeps 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ... days`);
}

new RegistrarStack(app, context('stackName') ?? 'Registrar', {
  description: 'registrar: a Mesos-style master with a registrar on Lambda and DynamoDB',
  settings,
  joinTokenSecret: context('joinTokenSecret'),
  operatorTokenSecret: context('operatorTokenSecret'),
  frameworkTokenSecret: context('frameworkTokenSecret'),
  apiConcurrency: number('apiConcurrency'),
  sweeperMemoryMb: number('sweeperMemoryMb'),
  ...(retentionDays === undefined ? {} : { logRetention: retentionDays as RetentionDays }),
});
app.synth();
