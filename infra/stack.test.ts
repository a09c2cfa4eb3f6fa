// The CDK app's template, checked with aws-cdk-lib/assertions after a real synth (the functions are
// bundled once, by the local esbuild): the table matches the adapter's schema, the functions, the
// schedule, least-privilege IAM, logs, and no token anywhere in clear.
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tableSchema } from '../adapters/dynamodb/schema.ts';
import { RegistrarStack, TABLE_ACTIONS, type RegistrarStackProps } from './stack.ts';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

/**
 * The full synth bundles src/lambda.ts and runs CDK's built-in CloudFormation validation (about 15 s on
 * two cores, mostly the validator's start-up); once is enough, the variants skip both.
 */
function synth(props: RegistrarStackProps = {}, full = false) {
  const app = new App({ builtinCloudFormationValidation: full, ...(full ? {} : { context: { 'aws:cdk:bundling-stacks': [] } }) });
  const stack = new RegistrarStack(app, 'Registrar', props);
  const assembly = app.synth();
  const json = assembly.getStackArtifact(stack.artifactId).template as { Resources: Record<string, Resource> };
  const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  return { stack, template: Template.fromJSON(json), resources: json.Resources, directory: assembly.directory, idOf };
}

describe('the AWS CDK stack', { timeout: 120_000 }, () => {
  let s: ReturnType<typeof synth>;
  let ids: { table: string; api: string; sweeper: string };
  const byType = (type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);
  const fn = (id: string) => s.resources[id]!.Properties;

  beforeAll(() => {
    s = synth({}, true);
    ids = { table: s.idOf(s.stack.table), api: s.idOf(s.stack.api), sweeper: s.idOf(s.stack.sweeper) };
  });

  it('synthesizes without errors or warnings, CloudFormation validation included', () => {
    Annotations.fromStack(s.stack).hasNoError('*', Match.anyValue());
    Annotations.fromStack(s.stack).hasNoWarning('*', Match.anyValue());
  });

  it('makes the table from the adapter schema: on demand, point-in-time recovery, deletion protection, retained', () => {
    const { partitionKey, sortKey } = tableSchema;
    expect(byType('AWS::DynamoDB::Table')).toHaveLength(1);
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: partitionKey.name, KeyType: 'HASH' },
          { AttributeName: sortKey.name, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
          { AttributeName: sortKey.name, AttributeType: sortKey.type },
        ],
        BillingMode: tableSchema.billingMode,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: Match.absent(), // every read strongly consistent
        ProvisionedThroughput: Match.absent(),
      },
    });
  });

  it('runs both functions from src/lambda.ts on Node 22, arm64, with the Lambda timings and the table', () => {
    expect(byType('AWS::Lambda::Function').map(([id]) => id).sort()).toEqual([ids.api, ids.sweeper].sort());
    const store = { 'Fn::Join': ['', ['dynamodb:', { Ref: ids.table }]] };
    for (const [id, handler] of [[ids.api, 'index.stream'], [ids.sweeper, 'index.sweeper']] as const) {
      expect(fn(id)).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: handler,
        Environment: { Variables: { REGISTRAR_STORE: store, REGISTRAR_SWEEP_INTERVAL: '15s', REGISTRAR_MASTER_LEASE: '150s' } },
      });
    }
    expect(fn(ids.api).Code).toEqual(fn(ids.sweeper).Code); // one bundle, two handlers
    expect(fn(ids.api).Environment.Variables.NODE_OPTIONS).toBe('--experimental-async-context-frame');
  });

  it('sizes the sweeper at 256 MB unless told otherwise: its waiting minute is the stack’s fixed cost', () => {
    expect([fn(ids.api).MemorySize, fn(ids.sweeper).MemorySize]).toEqual([256, 256]);
    // The cost model (bench/cost.ts) prices the functions as the stack sizes them.
    const { assumptions } = JSON.parse(readFileSync(new URL('../bench/prices.json', import.meta.url), 'utf8'));
    expect([assumptions.lambdaApiMemoryGb * 1024, assumptions.lambdaSweeperMemoryGb * 1024]).toEqual([256, 256]);
    // Its heap is capped below the function's memory: uncapped, V8 grew a 100,000-agent sweep past 256 MB.
    expect(fn(ids.sweeper).Environment.Variables.NODE_OPTIONS).toBe('--max-old-space-size=160');
    const larger = synth({ sweeperMemoryMb: 1024 });
    expect(larger.resources[larger.idOf(larger.stack.sweeper)]!.Properties).toMatchObject({ MemorySize: 1024, Environment: { Variables: { NODE_OPTIONS: '--max-old-space-size=640' } } });
    expect(() => new RegistrarStack(new App(), 'D', { sweeperMemoryMb: 64 })).toThrow(/sweeperMemoryMb/);
  });

  it('gives the API the token secrets’ ARNs alone, never their values, and only it may read them', () => {
    const secrets = byType('AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(3);
    for (const [, secret] of secrets) {
      expect(secret.DeletionPolicy).toBe('Retain');
      expect(secret.Properties.GenerateSecretString).toMatchObject({ ExcludePunctuation: true, PasswordLength: 48 });
      expect(secret.Properties.SecretString).toBeUndefined();
    }
    const vars = fn(ids.api).Environment.Variables;
    const referenced = [vars.REGISTRAR_JOIN_TOKEN_SECRET, vars.REGISTRAR_OPERATOR_TOKEN_SECRET, vars.REGISTRAR_FRAMEWORK_TOKEN_SECRET].map((v: { Ref: string }) => v.Ref);
    expect(referenced.sort()).toEqual(secrets.map(([id]) => id).sort());
    expect(JSON.stringify(s.resources)).not.toMatch(/resolve:secretsmanager/); // no value is resolved into any configuration
    for (const id of [ids.api, ids.sweeper]) {
      expect(Object.keys(fn(id).Environment.Variables)).not.toContain('REGISTRAR_JOIN_TOKEN');
      expect(Object.keys(fn(id).Environment.Variables)).not.toContain('REGISTRAR_OPERATOR_TOKEN');
      expect(Object.keys(fn(id).Environment.Variables)).not.toContain('REGISTRAR_FRAMEWORK_TOKEN');
    }
    expect(Object.keys(fn(ids.sweeper).Environment.Variables)).not.toContain('REGISTRAR_JOIN_TOKEN_SECRET');
  });

  it('uses existing secrets when given, by name or ARN', () => {
    const { resources, template } = synth({ joinTokenSecret: 'registrar/join', operatorTokenSecret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:registrar/operator-AbCdEf', frameworkTokenSecret: 'registrar/framework' });
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret')).toHaveLength(0);
    const api = Object.values(resources).find((r) => r.Properties?.Handler === 'index.stream')!;
    expect(JSON.stringify(api.Properties.Environment.Variables.REGISTRAR_JOIN_TOKEN_SECRET)).toMatch(/secret:registrar\/join/);
    expect(api.Properties.Environment.Variables.REGISTRAR_OPERATOR_TOKEN_SECRET).toBe('arn:aws:secretsmanager:us-east-1:123456789012:secret:registrar/operator-AbCdEf');
    template.resourceCountIs('AWS::Lambda::Function', 2);
  });

  it('streams the API’s responses, caps its concurrency by a parameter, and reserves concurrency for the sweeper', () => {
    s.template.hasResourceProperties('AWS::Lambda::Url', { InvokeMode: 'RESPONSE_STREAM' });
    expect(s.template.toJSON().Parameters.ApiConcurrency).toMatchObject({ Type: 'Number', Default: 100, MinValue: 1 });
    expect(fn(ids.api).ReservedConcurrentExecutions).toEqual({ Ref: 'ApiConcurrency' });
    expect(fn(ids.sweeper).ReservedConcurrentExecutions).toBe(2);
  });

  it('serves the API at a Function URL with auth NONE: the app checks bearer tokens', () => {
    s.template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [ids.api, 'Arn'] } });
    // Since October 2025 a public URL needs both permissions; the second only via the URL.
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE', FunctionName: { 'Fn::GetAtt': [ids.api, 'Arn'] },
    });
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true, FunctionName: { 'Fn::GetAtt': [ids.api, 'Arn'] },
    });
    s.template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'FunctionUrl'] } });
    for (const name of ['TableName', 'SweeperName', 'JoinTokenSecretArn', 'OperatorTokenSecretArn', 'FrameworkTokenSecretArn', 'ApiLogGroup', 'SweeperLogGroup']) {
      s.template.hasOutput(name, Match.anyValue());
    }
  });

  it('invokes the sweeper every minute from EventBridge, without retries', () => {
    const rules = byType('AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    expect(rules[0]![1].Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [ids.sweeper, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [ids.sweeper, 'Arn'] }, SourceArn: { 'Fn::GetAtt': [rules[0]![0], 'Arn'] },
    });
  });

  it('grants each function only its table actions on the table and writes to its own log group', () => {
    const roleOf = (id: string) => fn(id).Role['Fn::GetAtt'][0] as string;
    const logGroupOf = (id: string) => fn(id).LoggingConfig.LogGroup.Ref as string;
    for (const [id, actions] of [[ids.api, TABLE_ACTIONS.api], [ids.sweeper, TABLE_ACTIONS.sweeper]] as const) {
      const role = s.resources[roleOf(id)]!;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined(); // no AWSLambdaBasicExecutionRole: logs on every group
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      const policies = byType('AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleOf(id)));
      expect(policies).toHaveLength(1);
      const secretsRead = id === ids.api
        ? [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: byType('AWS::SecretsManager::Secret').map(([secret]) => ({ Ref: secret })) }]
        : [];
      expect(policies[0]![1].Properties.PolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupOf(id), 'Arn'] } },
        { Effect: 'Allow', Action: [...actions], Resource: { 'Fn::GetAtt': [ids.table, 'Arn'] } },
        ...secretsRead,
      ]);
    }
    // Nothing anywhere allows every action or every resource.
    const statements = byType('AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    for (const { Action, Resource } of statements) {
      for (const action of [Action].flat()) expect(action).not.toMatch(/\*/);
      expect(JSON.stringify(Resource)).not.toBe('"*"');
    }
    expect(byType('AWS::IAM::Role')).toHaveLength(2);
  });

  it('grants every table action the store sends at run time (adapters/dynamodb), the parts of a transaction included', () => {
    const source = ['index.ts', 'commit.ts', 'list.ts'].map((f) => readFileSync(new URL(`../adapters/dynamodb/${f}`, import.meta.url), 'utf8')).join('\n');
    const commands = [...source.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!);
    expect(commands).toContain('TransactWriteItems');
    // IAM authorizes a transaction by its parts: Put, Update, Delete and ConditionCheck.
    const parts = [...source.matchAll(/\{ (Put|Update|Delete|ConditionCheck): \{/g)].map((m) => (m[1] === 'ConditionCheck' ? 'ConditionCheckItem' : `${m[1]}Item`));
    const needed = new Set([...commands.filter((c) => c !== 'TransactWriteItems'), ...parts].map((a) => `dynamodb:${a}`));
    expect(needed).toContain('dynamodb:UpdateItem'); // a due lastSeenAt without the record: a patch
    expect([...needed].filter((a) => !(TABLE_ACTIONS.api as readonly string[]).includes(a))).toEqual([]);
    // The sweeper exports nothing (Scan) and never heartbeats (UpdateItem: the patch of lastSeenAt).
    expect([...needed].filter((a) => !(TABLE_ACTIONS.sweeper as readonly string[]).includes(a)).sort()).toEqual(['dynamodb:Scan', 'dynamodb:UpdateItem'].filter((a) => needed.has(a)));
  });

  it('keeps each function’s logs a month in its own group, JSON, without per-invocation platform lines on the API', () => {
    for (const [id, system] of [[ids.api, 'WARN'], [ids.sweeper, 'INFO']] as const) {
      const group = s.resources[fn(id).LoggingConfig.LogGroup.Ref]!;
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.Properties.RetentionInDays).toBe(30);
      expect(fn(id).LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: system, ApplicationLogLevel: 'INFO' });
    }
    expect(byType('Custom::LogRetention')).toHaveLength(0);
  });

  it('bundles a CommonJS file that Node 22 loads, exporting both handlers', async () => {
    const key = fn(ids.api).Code.S3Key as string;
    // Outside the project, so that its "type": "module" does not apply: in Lambda the zip holds index.js alone.
    const dir = mkdtempSync(join(tmpdir(), 'registrar-bundle-'));
    copyFileSync(join(s.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.js'), join(dir, 'index.js'));
    const bundle = createRequire(join(dir, 'index.js'))('./index.js') as typeof import('../src/lambda.ts');
    expect(typeof bundle.handler).toBe('function');
    expect(typeof bundle.sweeper).toBe('function');
    expect('stream' in bundle).toBe(true); // a function inside Lambda, where response streaming exists
  });

  it('refuses settings that would not run: a sweep interval that does not divide the minute, tokens in clear', () => {
    expect(() => new RegistrarStack(new App(), 'A', { settings: { REGISTRAR_SWEEP_INTERVAL: '25s', REGISTRAR_MASTER_LEASE: '200s', REGISTRAR_AGENT_TIMEOUT: '120s' } })).toThrow(/divide the one-minute schedule/);
    expect(() => new RegistrarStack(new App(), 'B', { settings: { REGISTRAR_JOIN_TOKEN: 'x'.repeat(20) } })).toThrow(/set by the stack/);
    expect(() => new RegistrarStack(new App(), 'C', { settings: { REGISTRAR_MASTER_LEASE: '30s' } })).toThrow(/REGISTRAR_MASTER_LEASE/);
  });
});
