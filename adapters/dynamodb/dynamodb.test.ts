// What is special to the DynamoDB store, beyond the conformance suite: the table layout, reading the
// service's errors, and settling writes whose outcome the first answer did not tell.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  ConditionalCheckFailedException, DeleteTableCommand, DynamoDBClient, GetItemCommand, InternalServerError, PutItemCommand, ScanCommand, ThrottlingException, TransactionCanceledException,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { bulkPut, createDynamoDbStore, createTable, tableSchema } from './index.ts';
import { classify } from './errors.ts';
import { WRITE_UNIT_BYTES, itemBytes, primaryKey, toItem } from './schema.ts';
import { openDynamoDbStore } from './from-env.ts';
import { ConflictError, InvalidCursorError, STORE_LIMITS, StoreLimitError, StoreUnavailableError, listAll, type Store } from '../../src/store.ts';

describe('DynamoDB errors', () => {
  const $metadata = { httpStatusCode: 400 };
  const cancelled = (...codes: string[]) =>
    new TransactionCanceledException({ message: 'cancelled', $metadata, CancellationReasons: codes.map((Code) => ({ Code })) });

  it('is a conflict only where a cancellation reason is a failed condition, naming its write', () => {
    expect(classify(cancelled('None', 'None', 'ConditionalCheckFailed'))).toMatchObject({ kind: 'conflict', index: 2 });
    expect(classify(cancelled('TransactionConflict', 'ConditionalCheckFailed'))).toMatchObject({ kind: 'conflict', index: 1 });
    expect(classify(new ConditionalCheckFailedException({ message: 'failed', $metadata }))).toMatchObject({ kind: 'conflict', index: 0 });
  });

  it('takes a lost transaction race and throttling for transient failures that applied nothing', () => {
    expect(classify(cancelled('None', 'TransactionConflict'))).toEqual({ kind: 'transient', mayHaveApplied: false, raced: true });
    expect(classify(new ThrottlingException({ message: 'slow down', $metadata }))).toEqual({ kind: 'transient', mayHaveApplied: false });
    expect(classify(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toEqual({ kind: 'transient', mayHaveApplied: false });
  });

  it('takes server errors, timeouts and dropped connections for writes that may have applied', () => {
    expect(classify(new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } }))).toEqual({ kind: 'transient', mayHaveApplied: true });
    expect(classify(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))).toEqual({ kind: 'transient', mayHaveApplied: true });
    expect(classify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toEqual({ kind: 'transient', mayHaveApplied: true });
  });

  it('takes a cancellation for a malformed request as refused', () => {
    expect(classify(cancelled('None', 'ValidationError'))).toEqual({ kind: 'refused' });
  });
});

describe('DynamoDB deadlines', () => {
  // A server that accepts every connection, reads what it is sent and never answers: a dead socket.
  let server: Server;
  let endpoint: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const clients: DynamoDBClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
    vi.unstubAllEnvs();
  });
  const silentClient = () => {
    const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
    clients.push(client);
    return client;
  };

  /** How a call ended and how long it took; 'still waiting' if it had not ended after `ms`. */
  const timed = async (call: () => Promise<unknown>, ms = 10_000) => {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<'still waiting'>((resolve) => {
      timer = setTimeout(() => resolve('still waiting'), ms);
    });
    const ended = await Promise.race([call().then(() => 'answered' as const, (err: unknown) => err), waited]);
    clearTimeout(timer);
    return { ended, ms: performance.now() - started };
  };
  const expectUnavailable = (ended: unknown, outcome: 'not-applied' | 'unknown') => {
    expect(ended).toBeInstanceOf(StoreUnavailableError);
    expect((ended as StoreUnavailableError).outcome).toBe(outcome);
  };

  it('gives up on a silent server within the deadline: reads not applied, writes of unknown outcome', async () => {
    const requestTimeoutMs = 300;
    const store = createDynamoDbStore({ client: silentClient(), table: 'silent', requestTimeoutMs });
    const slack = 400;
    // One request each.
    for (const read of [() => store.get('a'), () => store.list('agents/'), () => store.list('')]) {
      const { ended, ms } = await timed(read);
      expectUnavailable(ended, 'not-applied');
      expect(ms).toBeLessThan(requestTimeoutMs + slack);
    }
    // A commit may replay once to settle its outcome, within twice the request timeout.
    const writes = [
      [{ key: 'a', expect: 'absent', put: 1 }],
      [{ key: 'a', expect: 'some-version', put: 1 }],
      [{ key: 'a', expect: 'any', delete: true }, { key: 'b', expect: 'absent', check: true }],
    ] as const;
    for (const commit of writes) {
      const { ended, ms } = await timed(() => store.commit([...commit]));
      expectUnavailable(ended, 'unknown');
      expect(ms).toBeLessThan(2 * requestTimeoutMs + slack);
    }
  });

  it('has a deadline of about 2 s by default, well under an HTTP request timeout', async () => {
    const store = createDynamoDbStore({ client: silentClient(), table: 'silent' });
    const { ended, ms } = await timed(() => store.get('a'));
    expectUnavailable(ended, 'not-applied');
    expect(ms).toBeGreaterThan(1_500);
    expect(ms).toBeLessThan(3_000);
  });

  it('takes the deadline from the from-env factory too', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const store = openDynamoDbStore('silent', { requestTimeoutMs: 300 });
    try {
      const { ended, ms } = await timed(() => store.get('a'));
      expectUnavailable(ended, 'not-applied');
      expect(ms).toBeLessThan(700);
    } finally {
      await store.close();
    }
  });
});

const service = inject('dynamodb');

describe.skipIf(!('endpoint' in service))(`DynamoDB store${'skip' in service ? ` (SKIPPED: ${service.skip})` : ''}`, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const done of cleanup.splice(0).reverse()) await done();
  });

  const connect = (config: DynamoDBClientConfig = {}) => {
    const client = new DynamoDBClient({
      endpoint: (service as { endpoint: string }).endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...config,
    });
    cleanup.push(async () => client.destroy());
    return client;
  };
  const openTable = async (config?: DynamoDBClientConfig) => {
    const client = connect(config);
    const table = `registrar-${randomUUID()}`;
    await createTable(client, table);
    cleanup.push(async () => {
      await client.send(new DeleteTableCommand({ TableName: table }));
    });
    return { client, table, store: createDynamoDbStore({ client, table }) };
  };

  it('spreads one key segment over 16 partition keys and keeps the value as JSON text', async () => {
    const { client, table, store } = await openTable();
    for (let i = 0; i < 200; i += 25) {
      await store.commit(Array.from({ length: 25 }, (_, j) => ({ key: `agents/${i + j}`, expect: 'absent' as const, put: { n: i + j } })));
    }
    const versions = await store.commit([{ key: 'master', expect: 'absent', put: { epoch: 1 } }]);
    const { Items = [] } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    const partitions = new Set(Items.map((item) => item.pk!.S!));
    expect([...partitions].filter((pk) => pk.startsWith('agents#'))).toHaveLength(tableSchema.shards);
    const master = Items.find((item) => item.sk!.S === 'master')!;
    expect(master.pk!.S).toMatch(/^master#\d+$/);
    expect(master.value).toEqual({ S: '{"epoch":1}' });
    expect(master.version).toEqual({ S: versions.master });
  });

  it('keeps a value deflated where that saves a write unit, and still reads items kept as text', async () => {
    const { client, table, store } = await openTable();
    // An agent record after ten events: about 1.4 KB of JSON.
    const events = Array.from({ length: 10 }, (_, i) => ({ type: i % 2 ? 'reregistered' : 'reachable', at: 1_767_225_600_000 + i * 3_600_000, by: randomUUID(), reason: 'the master failed over' }));
    const record = { id: randomUUID(), info: { hostname: 'worker-0042.rack-07.dc1.example.com', port: 5051, resources: { cpus: 16, mem: 65536 }, attributes: { rack: 'rack-07' }, version: '1.12.0' }, status: 'admitted', events };
    const json = JSON.stringify(record);
    expect(json.length).toBeGreaterThan(1024);
    await store.commit([{ key: 'agents/big', expect: 'absent', put: record }]);
    const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: primaryKey('agents/big'), ConsistentRead: true }));
    expect(Item!.value).toBeUndefined();
    expect(Item!.deflated!.B!.length).toBeLessThan(json.length * 0.6);
    expect(itemBytes(Item!)).toBeLessThanOrEqual(1024); // one write unit a write, where the text took two
    expect(itemBytes(toItem('agents/big', Item!.version!.S!, json))).toBe(itemBytes(Item!));
    expect((await store.get('agents/big'))!.value).toEqual(record);
    // An item of one KB or less stays text (deflating it would save no unit), and so does one that
    // does not deflate below its units; an item written as text before reads as it was.
    const small = toItem('master', randomUUID(), JSON.stringify({ epoch: 1, pad: 'x'.repeat(700) }));
    expect(small.value).toBeDefined();
    expect(itemBytes(small)).toBeLessThanOrEqual(WRITE_UNIT_BYTES);
    const random = randomBytes(1200).toString('base64'); // deflates to about three quarters: still two units
    expect(toItem('agents/random', randomUUID(), JSON.stringify(random)).value).toBeDefined();
    await client.send(new PutItemCommand({ TableName: table, Item: { ...primaryKey('agents/old'), version: { S: 'v1' }, value: { S: json } } }));
    const page = await store.list('agents/');
    expect(page.items.map((i) => [i.key, i.value])).toEqual(expect.arrayContaining([['agents/big', record], ['agents/old', record]]));
  });

  it('refuses a forged cursor or one from another prefix', async () => {
    const { store } = await openTable();
    await store.commit(Array.from({ length: 5 }, (_, i) => ({ key: `agents/${i}`, expect: 'absent' as const, put: i })));
    const page = await store.list('agents/', { limit: 1 });
    expect(page.cursor).toBeDefined();
    await expect(store.list('frameworks/', { cursor: page.cursor })).rejects.toBeInstanceOf(StoreLimitError);
    await expect(store.list('agents/', { cursor: 'not a cursor' })).rejects.toBeInstanceOf(StoreLimitError);
    await expect(store.list('', { cursor: page.cursor })).rejects.toBeInstanceOf(StoreLimitError);
  });

  it('refuses a cursor naming a key longer than the key limit, or a partition not its key\'s, before DynamoDB sees it', async () => {
    const { client, store } = await openTable();
    await store.commit(Array.from({ length: 5 }, (_, i) => ({ key: `agents/${i}`, expect: 'absent' as const, put: i })));
    let reads = 0;
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'QueryCommand' || context.commandName === 'ScanCommand') reads++;
      return next(args);
    }, { step: 'initialize', name: 'countReads' });
    const cursor = (position: unknown) => Buffer.from(JSON.stringify(position)).toString('base64url');
    const forged = {
      // Past the key limit, yet short enough for DynamoDB's 1,024-byte sort key: it would answer a page.
      'a key one byte over the limit': ['agents/', cursor({ shard: 0, after: `agents/${'x'.repeat(STORE_LIMITS.keyBytes - 6)}` })],
      // The service refuses this one itself (ValidationException), which used to become a 503;
      // DynamoDB Local answers a page.
      'a key over 1,024 bytes': ['agents/', cursor({ shard: 0, after: `agents/${'x'.repeat(1100)}` })],
      'a scan position over the key limit': ['', cursor({ scanAfter: { pk: 'agents#0', sk: `agents/${'x'.repeat(STORE_LIMITS.keyBytes)}` } })],
      "a scan position whose partition is not its key's": ['', cursor({ scanAfter: { pk: 'elsewhere#3', sk: 'agents/1' } })],
    };
    for (const [what, [prefix, bad]] of Object.entries(forged)) {
      const err = await store.list(prefix!, { cursor: bad }).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(InvalidCursorError);
    }
    expect(reads, 'requests sent to DynamoDB').toBe(0);
  });

  it('loads records in bulk in its own format, each with a version', async () => {
    const { client, table, store } = await openTable();
    await bulkPut(client, table, Array.from({ length: 1000 }, (_, i) => ({ key: `agents/${i}`, value: { i } })));
    const items = [];
    for await (const item of listAll<{ i: number }>(store, 'agents/')) items.push(item);
    expect(items).toHaveLength(1000);
    expect(new Set(items.map((item) => item.version)).size).toBe(1000);
    expect((await store.get('agents/999'))?.value).toEqual({ i: 999 });
  });

  it('says a missing table is unavailable, not applied', async () => {
    const store = createDynamoDbStore({ client: connect(), table: 'no-such-table' });
    const err = await store.commit([{ key: 'a', expect: 'absent', put: 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).outcome).toBe('not-applied');
    await expect(store.get('a')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  describe('settling unknown outcomes', () => {
    /**
     * Lets the next write (PutItem or TransactWriteItems) reach DynamoDB, runs `meanwhile` (another
     * writer), then fails the response with a timeout: placed at the deserialize step, inside the SDK's
     * retry loop. Returns whether it fired.
     */
    const timeoutAfterNextWrite = (client: DynamoDBClient, meanwhile: () => Promise<void> = async () => {}) => {
      let armed = true;
      const fault = <A, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) => async (args: A): Promise<R> => {
        if (!armed || !['PutItemCommand', 'TransactWriteItemsCommand'].includes(context.commandName ?? '')) return next(args);
        armed = false;
        await next(args);
        await meanwhile();
        throw Object.assign(new Error('injected: socket timed out'), { name: 'TimeoutError' });
      };
      client.middlewareStack.add(fault, { step: 'deserialize', name: 'injectTimeout' });
      return () => !armed;
    };
    /** Another writer who read our write and built on it. */
    const overwrite = (store: Store) => async () => {
      const item = await store.get('a');
      await store.commit([{ key: 'a', expect: item!.version, put: 'someone else' }]);
    };

    it("settles the SDK's own retry of an applied put as a success", async () => {
      const { client, store } = await openTable({ maxAttempts: 3 });
      const v0 = (await store.commit([{ key: 'a', expect: 'absent', put: 0 }])).a!;
      const fired = timeoutAfterNextWrite(client);
      const versions = await store.commit([{ key: 'a', expect: v0, put: 1 }]);
      expect(fired()).toBe(true);
      expect(await store.get('a')).toEqual({ key: 'a', value: 1, version: versions.a });
    });

    it('never calls a failed condition after a lost answer a conflict: the write may have applied', async () => {
      const { client, table, store } = await openTable({ maxAttempts: 3 });
      const other = createDynamoDbStore({ client: connect(), table });
      const v0 = (await store.commit([{ key: 'a', expect: 'absent', put: 0 }])).a!;
      const fired = timeoutAfterNextWrite(client, overwrite(other));
      const err = await store.commit([{ key: 'a', expect: v0, put: 1 }]).catch((e: unknown) => e);
      expect(fired()).toBe(true);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).outcome).toBe('unknown');
      expect((await store.get('a'))?.value).toBe('someone else');
    });

    /** Another writer who read our create and deleted it; returns the version it deleted. */
    const deleteIt = (store: Store, seen: (version: string) => void) => async () => {
      const item = await store.get('a');
      seen(item!.version);
      await store.commit([{ key: 'a', expect: item!.version, delete: true }]);
    };

    // A lost 'absent' create, deleted before the retry: a plain conditional PutItem would pass its
    // condition again and bring back the deleted version. Retried by the SDK (maxAttempts 3) or by the
    // adapter's own replay (maxAttempts 1).
    for (const maxAttempts of [3, 1]) {
      it(`never brings back a deleted version when a lost 'absent' create is sent again (maxAttempts ${maxAttempts})`, async () => {
        const { client, table, store } = await openTable({ maxAttempts });
        const other = createDynamoDbStore({ client: connect(), table });
        let deleted: string | undefined;
        const fired = timeoutAfterNextWrite(client, deleteIt(other, (v) => {
          deleted = v;
        }));
        const outcome = await store.commit([{ key: 'a', expect: 'absent', put: 1 }]).then((ok) => ({ ok }), (err: unknown) => ({ err }));
        expect(fired()).toBe(true);
        // The replay carries the first attempt's token: DynamoDB says it applied, and applies nothing.
        expect(outcome).toEqual({ ok: { a: deleted } });
        expect(await store.get('a'), 'the deleted version came back').toBeUndefined();
        const stale = await store.commit([{ key: 'a', expect: deleted!, put: 2 }]).catch((e: unknown) => e);
        expect(stale).toBeInstanceOf(ConflictError);
      });
    }

    it('replays a lost transaction with its token: applied once, reported once', async () => {
      const { client, store } = await openTable({ maxAttempts: 1 });
      let armed = true;
      const fault = <A, R>(next: (args: A) => Promise<R>, context: { commandName?: string }) => async (args: A): Promise<R> => {
        if (!armed || context.commandName !== 'TransactWriteItemsCommand') return next(args);
        armed = false;
        await next(args);
        throw Object.assign(new Error('injected: socket hang up'), { code: 'ECONNRESET' });
      };
      client.middlewareStack.add(fault, { step: 'deserialize', name: 'injectReset' });
      const v0 = (await store.commit([{ key: 'a', expect: 'absent', put: 0 }])).a!;
      // A delete and a check: replaying them without the token would fail their conditions.
      const versions = await store.commit([{ key: 'a', expect: v0, delete: true }, { key: 'b', expect: 'absent', check: true }, { key: 'c', expect: 'any', put: 1 }]);
      expect(armed).toBe(false);
      expect(await store.get('a')).toBeUndefined();
      expect((await store.get('c'))?.version).toBe(versions.c);
    });
  });

  it('fits the largest value under the longest key in one item', async () => {
    const { store } = await openTable();
    const key = `agents/${'k'.repeat(505)}`;
    const value = 'x'.repeat(64 * 1024 - 2);
    await store.commit([{ key, expect: 'absent', put: value }]);
    expect((await store.get(key))?.value).toBe(value);
  });
});
