// Mesos-compatible endpoints for tooling written against Mesos (README, "Mesos-compatible endpoints"):
// `POST /api/v1` (the v1 operator API, JSON) and the legacy `GET /master/slaves`. Operator token, as
// the REST operator API; the shapes are mesos-shapes.ts's.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { isPending, leaseLapsed, type AgentRecord, type FrameworkRecord, type MasterRecord } from '../registry/index.ts';
import { AGENT_PREFIX, FRAMEWORK_PREFIX, type Registrar } from '../registrar.ts';
import { UUID_PATTERN } from '../secrets.ts';
import { requireToken, type TokenSource } from './auth.ts';
import { ApiError } from './errors.ts';
import { frameworkListingOf, getFrameworksFramework } from './mesos-framework-shapes.ts';
import { MESOS_CALL_TYPES, legacySlavesQuery, mesosCall, mesosCallType, type MesosCall } from './mesos-schemas.ts';
import {
  agentInfo, getAgentsAgent, getMaster, legacyRecoveredSlave, legacySlave, listingOf, type MesosListing,
} from './mesos-shapes.ts';
import { body, parse } from './schemas.ts';

type Env = { Variables: { operator: string } };

/** Answers up to this size are built whole, so a store failure is still a clean 503; larger ones stream. */
const WHOLE_BYTES = 64 * 1024;

/**
 * A JSON answer made of pieces. One that fits WHOLE_BYTES is sent whole. A larger one streams,
 * reading on (a store page at a time) only as the client takes it, so memory stays bounded as the
 * paged REST listing's does; a failure part way errors the stream rather than ending it as valid JSON.
 */
async function jsonPieces(c: Context, pieces: AsyncGenerator<string>, log: (message: string, fields: Record<string, unknown>) => void) {
  let head = '';
  for (let r = await pieces.next(); ; r = await pieces.next()) {
    if (r.done) return c.body(head, 200, { 'Content-Type': 'application/json' });
    head += r.value;
    if (head.length >= WHOLE_BYTES) break;
  }
  const utf8 = new TextEncoder();
  let pending = head;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let done = false;
        while (pending.length < WHOLE_BYTES && !done) {
          const r = await pieces.next();
          if (r.done) done = true;
          else pending += r.value;
        }
        if (pending) controller.enqueue(utf8.encode(pending));
        pending = '';
        if (done) controller.close();
      } catch (err) {
        log('mesos listing cut short', { error: (err as Error).message, path: c.req.path });
        controller.error(err);
      }
    },
    async cancel() {
      await pieces.return(undefined);
    },
  });
  return c.body(stream, 200, { 'Content-Type': 'application/json' });
}

/** The members of a JSON array: the records `map` keeps, comma-separated. */
async function* members<R>(records: AsyncIterable<{ value: R }>, map: (r: R) => unknown): AsyncGenerator<string> {
  let sep = '';
  for await (const { value } of records) {
    const member = map(value);
    if (member === undefined) continue;
    yield sep + JSON.stringify(member);
    sep = ',';
  }
}

/**
 * Two listings of the agents, each built in a pass of the registry's paged scan. Recovered agents come
 * first, in a pass made only while recovery is open or held (otherwise nobody is pending): an agent
 * that re-registers between the passes is listed in both, never in neither.
 */
async function* listings(
  registrar: Registrar,
  names: Record<Exclude<MesosListing, undefined>, string>,
  shape: { agents: (r: AgentRecord) => unknown; recovered_agents: (r: AgentRecord) => unknown },
): AsyncGenerator<string> {
  const master: MasterRecord = (await registrar.core.currentMaster({ fresh: true })).value;
  const pass = (listing: MesosListing) =>
    members(registrar.core.scan<AgentRecord>(AGENT_PREFIX), (r) => (listingOf(r, isPending(master, r)) === listing ? shape[listing!](r) : undefined));
  const recovering = master.recovery.state !== 'done';
  yield `{${JSON.stringify(names.recovered_agents)}:[`;
  if (recovering) yield* pass('recovered_agents');
  yield `],${JSON.stringify(names.agents)}:[`;
  yield* pass('agents');
  yield ']}';
}

/** A Mesos AgentID as ours: a UUID, in lowercase; anything else names no agent. */
function agentIdOf(id: { value: string }): string {
  if (!UUID_PATTERN.test(id.value)) throw new ApiError(404, 'not_found', `no agent ${id.value}: agent ids are UUIDs`);
  return id.value.toLowerCase();
}

/** Mesos' operator API speaks JSON or protobuf; this one JSON only (a body of another declared type is read as JSON). */
function requireJson(c: Context): void {
  if (/protobuf|recordio/i.test(c.req.header('content-type') ?? '')) {
    throw new ApiError(415, 'unsupported_media_type', 'calls are taken as JSON only (Content-Type: application/json)');
  }
  const accept = c.req.header('accept');
  if (accept !== undefined && accept.trim() !== '' && !/application\/json|application\/\*|\*\/\*/i.test(accept)) {
    throw new ApiError(406, 'not_acceptable', 'answers are given as JSON only (Accept: application/json)');
  }
}

export function mesosRoutes(registrar: Registrar, tokens: TokenSource) {
  const { core } = registrar;
  const app = new Hono<Env>();
  // On each route, not app.use: mounted at the root, a middleware would reach every path.
  const operator: MiddlewareHandler<Env> = async (c, next) => {
    c.set('operator', await requireToken(c, tokens, 'operator'));
    await next();
  };

  async function call(c: Context<Env>, request: MesosCall) {
    const by = { by: c.get('operator') };
    switch (request.type) {
      case 'GET_HEALTH': {
        // Healthy when it serves as a master should: a store that takes writes, and a sweeper detecting failures.
        const problem = core.store.problem?.();
        const healthy = !problem && !leaseLapsed((await core.currentMaster()).value, core.clock.now(), core.policy);
        return c.json({ type: request.type, get_health: { healthy } });
      }
      case 'GET_MASTER': {
        const master = (await core.currentMaster({ fresh: true })).value;
        return c.json({ type: request.type, get_master: getMaster(master, new URL(c.req.url)) });
      }
      case 'GET_AGENTS': {
        const names = { agents: 'agents', recovered_agents: 'recovered_agents' };
        const get = listings(registrar, names, { agents: getAgentsAgent, recovered_agents: agentInfo });
        return jsonPieces(c, wrap('{"type":"GET_AGENTS","get_agents":', get, '}'), core.log);
      }
      case 'GET_FRAMEWORKS': {
        // Two passes of the frameworks' paged scan, active then completed (Mesos' two lists).
        const master = (await core.currentMaster({ fresh: true })).value;
        const pass = (listing: 'frameworks' | 'completed_frameworks') =>
          members(core.scan<FrameworkRecord>(FRAMEWORK_PREFIX), (r) => (frameworkListingOf(r) === listing ? getFrameworksFramework(r, master) : undefined));
        return jsonPieces(c, wrap('{"type":"GET_FRAMEWORKS","get_frameworks":{"frameworks":[', join(pass('frameworks'), '],"completed_frameworks":[', pass('completed_frameworks')), ']}}'), core.log);
      }
      case 'MARK_AGENT_GONE':
        await registrar.markGone(agentIdOf(request.mark_agent_gone.agent_id), by);
        return c.body(null, 200);
      case 'DEACTIVATE_AGENT':
        await registrar.deactivate(agentIdOf(request.deactivate_agent.agent_id), by);
        return c.body(null, 200);
      case 'REACTIVATE_AGENT':
        await registrar.reactivate(agentIdOf(request.reactivate_agent.agent_id), by);
        return c.body(null, 200);
      case 'DRAIN_AGENT': {
        const d = request.drain_agent;
        const drain = { ...(d.max_grace_period === undefined ? {} : { maxGracePeriod: d.max_grace_period }), ...(d.mark_gone ? { markGone: true } : {}) };
        await registrar.drain(agentIdOf(d.agent_id), drain, by);
        return c.body(null, 200);
      }
    }
  }

  // Exactly `/api/v1`: the REST routes under it are other routes.
  app.post('/api/v1', operator, async (c) => {
    requireJson(c);
    const raw = await body(c, mesosCallType);
    if (!(MESOS_CALL_TYPES as readonly string[]).includes(raw.type)) {
      throw new ApiError(400, 'unsupported_call', `call type ${JSON.stringify(raw.type)} is not supported; supported: ${MESOS_CALL_TYPES.join(', ')}`);
    }
    return call(c, parse(mesosCall, raw));
  });

  app.get('/master/slaves', operator, async (c) => {
    const { slave_id: slaveId } = parse(legacySlavesQuery, c.req.query());
    const names = { agents: 'slaves', recovered_agents: 'recovered_slaves' };
    const shape = { agents: legacySlave, recovered_agents: legacyRecoveredSlave };
    if (slaveId === undefined) return jsonPieces(c, listings(registrar, names, shape), core.log);
    // One agent, as Mesos filters: an id that names none gives empty lists.
    const item = UUID_PATTERN.test(slaveId) ? await core.readAgent(slaveId.toLowerCase()) : undefined;
    const master = item ? (await core.currentMaster({ fresh: true })).value : undefined;
    const listing = item && master ? listingOf(item.value, isPending(master, item.value)) : undefined;
    return c.json({
      slaves: listing === 'agents' ? [legacySlave(item!.value)] : [],
      recovered_slaves: listing === 'recovered_agents' ? [legacyRecoveredSlave(item!.value)] : [],
    });
  });

  return app;
}

async function* join(first: AsyncGenerator<string>, between: string, second: AsyncGenerator<string>): AsyncGenerator<string> {
  yield* first;
  yield between;
  yield* second;
}

async function* wrap(before: string, inner: AsyncGenerator<string>, after: string): AsyncGenerator<string> {
  yield before;
  yield* inner;
  yield after;
}
