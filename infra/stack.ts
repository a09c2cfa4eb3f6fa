// The AWS deployment (DESIGN.md, "Runtimes"): the registry's DynamoDB table, the API function behind a
// Function URL, the sweeper on an EventBridge schedule, and nothing more than they need.
//
// - Function URL rather than an API Gateway HTTP API: heartbeats are the whole load (4 per agent per
//   minute), and a Function URL adds nothing per request where an HTTP API adds $1 per million. The app
//   authenticates every request with bearer tokens, so the URL's auth type is NONE.
// - Tokens live in Secrets Manager and are read by the API function at run time (cached, read again on an
//   unknown token, so a rotation needs no redeploy): its environment holds only the secrets' ARNs, and
//   only it may read them. The sweeper needs no token.
// - The Function URL streams responses (RESPONSE_STREAM), so a registry export is not cut at 6 MB.
// - The sweeper has reserved concurrency, so a flood of requests to the API can never starve failure
//   detection; the API is capped (the ApiConcurrency parameter), which bounds what a flood costs.
import { fileURLToPath } from 'node:url';
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, FunctionUrlAuthType, InvokeMode, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { tableSchema } from '../adapters/dynamodb/schema.ts';
import { SWEEP_SCHEDULE_MS, loadConfig } from '../src/config.ts';
import { ASYNC_CONTEXT_FRAME } from '../src/request-context.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = fileURLToPath(new URL('../src/lambda.ts', import.meta.url));

/**
 * What each function calls on the table (adapters/dynamodb): GetItem, Query (a key segment) and PutItem
 * directly; TransactWriteItems, whose Put, Delete and ConditionCheck parts IAM authorizes as PutItem,
 * DeleteItem and ConditionCheckItem; Scan only for the whole-registry export (`GET /api/v1/registry`);
 * UpdateItem only for a heartbeat's patch of lastSeenAt, which the sweeper never writes.
 */
export const TABLE_ACTIONS = {
  api: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  sweeper: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
} as const;

/** The API's default concurrency cap: ~4 heartbeats per agent per minute at ~20 ms each fit 10,000s of agents. */
export const DEFAULT_API_CONCURRENCY = 100;
/** Reserved for the sweeper, so that no flood of API requests can starve failure detection. */
export const SWEEPER_CONCURRENCY = 2;

/**
 * The sweeper's memory. It is billed for the whole minute of each invocation, mostly spent waiting
 * between sweeps, so it is the stack's one fixed cost: $6.50 a month at 256 MB, twice that at 512.
 * A sweep over 100,000 agents on DynamoDB peaked at 170–200 MB of resident memory with the heap
 * capped at 160 MB, but up to 300 MB uncapped (V8 grows its heap before collecting when it has room),
 * so the sweeper's heap is capped at 5/8 of its memory. That scan took about 3 s of CPU, some 20 s
 * at 256 MB (a seventh of a vCPU): fine for tens of thousands of agents; give 100,000 512 MB or more.
 */
export const DEFAULT_SWEEPER_MEMORY_MB = 256;
/** The sweeper's V8 heap cap for a function of `memoryMb`: the rest is the SDK, code and buffers (about 110 MB measured). */
export const sweeperHeapMb = (memoryMb: number) => Math.floor((memoryMb * 5) / 8);

/** The Lambda defaults, written out so the template says what runs. */
export const LAMBDA_SETTINGS = { REGISTRAR_SWEEP_INTERVAL: '15s', REGISTRAR_MASTER_LEASE: '150s' } as const;

const ATTRIBUTE_TYPES = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY } as const;
const BILLING_MODES = { PAY_PER_REQUEST: BillingMode.PAY_PER_REQUEST, PROVISIONED: BillingMode.PROVISIONED } as const;

export interface RegistrarStackProps extends StackProps {
  /** REGISTRAR_* timings and limits for both functions (DESIGN.md, "Configuration"); never the store or tokens. */
  settings?: Record<string, string>;
  /** Existing Secrets Manager secrets (name or ARN) holding each token list; the stack generates them when absent. */
  joinTokenSecret?: string;
  operatorTokenSecret?: string;
  frameworkTokenSecret?: string;
  /** The API's concurrency cap's default (the ApiConcurrency parameter), bounding its cost under a flood. */
  apiConcurrency?: number;
  /** The sweeper function's memory (default DEFAULT_SWEEPER_MEMORY_MB); a registry beyond 100,000 agents needs more. */
  sweeperMemoryMb?: number;
  logRetention?: RetentionDays;
}

export class RegistrarStack extends Stack {
  readonly table: Table;
  readonly api: NodejsFunction;
  readonly sweeper: NodejsFunction;

  constructor(scope: Construct, id: string, props: RegistrarStackProps = {}) {
    super(scope, id, props);
    const settings = { ...LAMBDA_SETTINGS, ...props.settings };
    for (const name of ['REGISTRAR_STORE', 'REGISTRAR_JOIN_TOKEN', 'REGISTRAR_OPERATOR_TOKEN', 'REGISTRAR_FRAMEWORK_TOKEN']) {
      if (name in settings) throw new Error(`${name} is set by the stack itself, not by settings`);
    }
    // A bad value fails here, at synth, rather than as a 503 after deploying.
    const { policy } = loadConfig({ ...settings, REGISTRAR_STORE: 'dynamodb:check' }, 'lambda');
    // The schedule invokes the sweeper every minute; each invocation sweeps every sweep interval until the next.
    if (SWEEP_SCHEDULE_MS % policy.sweepInterval !== 0) {
      throw new Error('REGISTRAR_SWEEP_INTERVAL: must divide the one-minute schedule (e.g. 15s, 20s, 30s, 60s)');
    }
    const minutes = SWEEP_SCHEDULE_MS / 60_000;
    const sweeperMemory = props.sweeperMemoryMb ?? DEFAULT_SWEEPER_MEMORY_MB;
    if (!Number.isInteger(sweeperMemory) || sweeperMemory < 128 || sweeperMemory > 10_240) {
      throw new Error(`sweeperMemoryMb: ${sweeperMemory} is not a Lambda memory size (128 to 10,240 MB)`);
    }

    this.table = new Table(this, 'Registry', {
      partitionKey: { name: tableSchema.partitionKey.name, type: ATTRIBUTE_TYPES[tableSchema.partitionKey.type] },
      sortKey: { name: tableSchema.sortKey.name, type: ATTRIBUTE_TYPES[tableSchema.sortKey.type] },
      billingMode: BILLING_MODES[tableSchema.billingMode],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const environment = { ...settings, REGISTRAR_STORE: `dynamodb:${this.table.tableName}` };
    const join = this.tokenSecret('JoinToken', props.joinTokenSecret);
    const operator = this.tokenSecret('OperatorToken', props.operatorTokenSecret);
    const framework = this.tokenSecret('FrameworkToken', props.frameworkTokenSecret);
    const apiConcurrency = new CfnParameter(this, 'ApiConcurrency', {
      type: 'Number',
      default: props.apiConcurrency ?? DEFAULT_API_CONCURRENCY,
      minValue: 1,
      description: 'the most concurrent executions of the API function: bounds what a flood of requests can cost',
    });

    this.api = this.registrarFunction('Api', {
      handler: 'stream',
      description: 'registrar: the HTTP API',
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: {
        ...environment,
        NODE_OPTIONS: ASYNC_CONTEXT_FRAME, // as `npm start` runs (src/request-context.ts)
        REGISTRAR_JOIN_TOKEN_SECRET: join.secretArn,
        REGISTRAR_OPERATOR_TOKEN_SECRET: operator.secretArn,
        REGISTRAR_FRAMEWORK_TOKEN_SECRET: framework.secretArn,
      },
      actions: TABLE_ACTIONS.api,
      secrets: [join, operator, framework],
      // START/END/REPORT lines on every heartbeat would cost more than the heartbeats; errors still log.
      systemLogLevel: SystemLogLevel.WARN,
      logRetention: props.logRetention,
      reservedConcurrentExecutions: apiConcurrency.valueAsNumber,
    });
    const url = this.api.addFunctionUrl({ authType: FunctionUrlAuthType.NONE, invokeMode: InvokeMode.RESPONSE_STREAM });

    this.sweeper = this.registrarFunction('Sweeper', {
      handler: 'sweeper',
      description: 'registrar: the master sweep, on a schedule',
      memorySize: sweeperMemory,
      timeout: Duration.minutes(2),
      environment: { ...environment, NODE_OPTIONS: `--max-old-space-size=${sweeperHeapMb(sweeperMemory)}` },
      actions: TABLE_ACTIONS.sweeper,
      systemLogLevel: SystemLogLevel.INFO,
      logRetention: props.logRetention,
      // One invocation a minute, overlapping the next by a few seconds at most.
      reservedConcurrentExecutions: SWEEPER_CONCURRENCY,
    });
    new Rule(this, 'SweepSchedule', {
      description: 'registrar: the sweeper is the master',
      schedule: Schedule.rate(Duration.minutes(minutes)),
      // A missed sweep is made up by the next one; retrying a stale one only overlaps it.
      targets: [new LambdaFunction(this.sweeper, { retryAttempts: 0, maxEventAge: Duration.minutes(minutes) })],
    });

    new CfnOutput(this, 'ApiUrl', { value: url.url, description: 'the master URL agents and operators use' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'SweeperName', { value: this.sweeper.functionName });
    new CfnOutput(this, 'JoinTokenSecretArn', { value: join.secretArn });
    new CfnOutput(this, 'OperatorTokenSecretArn', { value: operator.secretArn });
    new CfnOutput(this, 'FrameworkTokenSecretArn', { value: framework.secretArn });
  }

  /** An existing secret, or a new one holding a generated token (48 letters and digits). */
  private tokenSecret(id: string, nameOrArn?: string): ISecret {
    if (nameOrArn) {
      return nameOrArn.startsWith('arn:')
        ? Secret.fromSecretCompleteArn(this, id, nameOrArn)
        : Secret.fromSecretNameV2(this, id, nameOrArn);
    }
    return new Secret(this, id, {
      description: `registrar: REGISTRAR_${id.replace(/Token$/, '').toUpperCase()}_TOKEN (one token, or label:token pairs separated by commas)`,
      generateSecretString: { excludePunctuation: true, includeSpace: false, passwordLength: 48 },
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** One of the two functions built from src/lambda.ts: its own role, log group and table actions only. */
  private registrarFunction(id: string, opts: {
    handler: 'stream' | 'sweeper';
    description: string;
    memorySize: number;
    timeout: Duration;
    environment: Record<string, string>;
    actions: readonly string[];
    /** Secrets it may read (GetSecretValue on these alone). */
    secrets?: ISecret[];
    systemLogLevel: SystemLogLevel;
    logRetention?: RetentionDays | undefined;
    reservedConcurrentExecutions?: number;
  }): NodejsFunction {
    const logGroup = new LogGroup(this, `${id}Logs`, { retention: opts.logRetention ?? RetentionDays.ONE_MONTH });
    new CfnOutput(this, `${id}LogGroup`, { value: logGroup.logGroupName, description: 'aws logs tail <this> --follow' });
    // An explicit role, so that no managed policy grants logs on every group.
    const role = new Role(this, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    role.addToPolicy(new PolicyStatement({ actions: [...opts.actions], resources: [this.table.tableArn] }));
    if (opts.secrets?.length) {
      role.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: opts.secrets.map((s) => s.secretArn) }));
    }
    return new NodejsFunction(this, id, {
      entry: ENTRY,
      handler: opts.handler,
      projectRoot: ROOT,
      depsLockFilePath: `${ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: opts.memorySize,
      timeout: opts.timeout,
      description: opts.description,
      environment: opts.environment,
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      systemLogLevelV2: opts.systemLogLevel,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      ...(opts.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: opts.reservedConcurrentExecutions }),
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        // The adapter is tested against this SDK version, not whichever the runtime ships.
        bundleAwsSDK: true,
        forceDockerBundling: false,
      },
    });
  }
}
