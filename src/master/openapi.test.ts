// The OpenAPI document (GET /openapi.json) and the rendered reference (GET /doc): a real validator
// accepts the document, every route of the app is in it and nothing else, the answers have the
// documented shapes, and the reference loads nothing from outside the server.
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { heldMaster, registerAgent, servingMaster } from '../../test/support/master-http.ts';
import { FRAMEWORK, OPERATOR, testMaster } from '../../test/support/master.ts';
import { DOC_ASSETS } from './openapi-assets.ts';
import { docRoutes } from './openapi-routes.ts';
import { registryEventShape } from './openapi-events.ts';
import { legacySlavesShape, mesosResponseShape } from './openapi-mesos.ts';
import * as shapes from './openapi-shapes.ts';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { security: unknown[]; tags: string[]; responses: Record<string, unknown>; requestBody?: unknown }>>;
  components: { schemas: Record<string, unknown> };
};

async function documentOf(app: ReturnType<typeof testMaster>['app']): Promise<Doc> {
  const res = await app.request('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  return (await res.json()) as Doc;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `METHOD /path/{param}` for each route the app answers; middleware (`*` paths) is no route. */
function appRoutes(app: ReturnType<typeof testMaster>['app']): string[] {
  const routes = app.routes
    .filter((r) => !r.path.includes('*'))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}')}`);
  return [...new Set(routes)].sort();
}

function documentedRoutes(doc: Doc): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).filter((m) => HTTP_METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    const doc = await documentOf(testMaster().app);
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors, JSON.stringify(result.errors, null, 1)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
    // zod's registry ids (`$id: "#/…"`, a fragment, which JSON Schema forbids in an $id) are left out.
    expect(JSON.stringify(doc)).not.toContain('"$id"');
  });

  it('documents every route of the app, and no route the app does not have', async () => {
    const { app } = testMaster();
    const doc = await documentOf(app);
    expect(documentedRoutes(doc)).toEqual(appRoutes(app));
  });

  it('gives every operation its security, a success and only documented error statuses with the { error, message } body', async () => {
    const doc = await documentOf(testMaster().app);
    const documented = new Set(['400', '401', '403', '404', '406', '409', '410', '413', '415', '429', '503']);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(Array.isArray(op.security), where).toBe(true);
        const statuses = Object.keys(op.responses);
        expect(statuses.some((s) => s.startsWith('2') || s === '303'), where).toBe(true);
        for (const s of statuses.filter((s) => !s.startsWith('2') && s !== '303')) {
          expect(documented.has(s), `${where} ${s}`).toBe(true);
          // The API's errors are { error, message }; the dashboard's are pages saying the same.
          const body = op.tags.includes('dashboard') ? /"text\/html"/ : /#\/components\/(schemas\/Error|responses\/\d+)"/;
          expect(JSON.stringify(op.responses[s]), `${where} ${s}`).toMatch(body);
        }
      }
    }
    // Agents, operators and registering each use their own bearer credential.
    expect(doc.paths['/api/v1/agents']!.post!.security).toEqual([{ joinToken: [] }]);
    expect(doc.paths['/api/v1/agents/{agentId}/heartbeat']!.post!.security).toEqual([{ agentSecret: [] }]);
    expect(doc.paths['/api/v1/agents/{agentId}']!.get!.security).toEqual([{ operatorToken: [] }]);
  });

  it('documents request bodies from the schemas that validate them', async () => {
    const doc = await documentOf(testMaster().app);
    const register = doc.components.schemas.RegisterRequest as { required: string[]; properties: Record<string, { format?: string; default?: unknown }> };
    expect(register.required).toEqual(['hostname']);
    expect(register.properties.port!.default).toBe(5051);
    expect(register.properties.agentId!.format).toBe('uuid');
    const heartbeat = doc.paths['/api/v1/agents/{agentId}/heartbeat']!.post!;
    expect(JSON.stringify(heartbeat.requestBody)).toContain('#/components/schemas/HeartbeatRequest');
    expect(doc.components.schemas.HeartbeatRequest).toMatchObject({ required: ['epoch'] });
    const list = doc.paths['/api/v1/agents']!.get as unknown as { parameters: { name: string; in: string }[] };
    expect(list.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['status', 'attribute', 'cursor', 'limit', 'pending']));
  });

  it('is built once per app: every request gets the same bytes', async () => {
    const { app } = testMaster();
    const [a, b] = await Promise.all([app.request('/openapi.json'), app.request('/openapi.json')]);
    expect(await a.text()).toBe(await b.text());
  });
});

describe('answers have the documented shapes', () => {
  it('for agents, operators and /health', async () => {
    const m = await servingMaster();
    const registered = await m.api.register({ hostname: 'a1', resources: { cpus: 4 } });
    expect(registered.status).toBe(201);
    shapes.registeredShape.parse(registered.body);
    const { agentId, secret, epoch } = registered.body;
    shapes.heartbeatShape.parse((await m.api.heartbeat(agentId, secret, { epoch })).body);
    shapes.reregisteredShape.parse((await m.api.reregister(agentId, secret)).body);
    shapes.agentPageShape.parse((await m.api.operator('GET', '/agents')).body);
    shapes.agentShape.parse((await m.api.operator('POST', `/agents/${agentId}/drain`, { maxGracePeriodSeconds: 60 })).body);
    shapes.heartbeatShape.parse((await m.api.heartbeat(agentId, secret, { epoch })).body);
    shapes.masterShape.parse((await m.api.operator('GET', '/master')).body);
    shapes.healthShape.parse((await m.call('GET', '/health')).body);
    shapes.healthShape.parse((await m.call('GET', '/health', { token: OPERATOR })).body);
    const stale = await m.api.heartbeat(agentId, secret, { epoch: epoch - 1 });
    expect(stale.status).toBe(409);
    expect(shapes.errorShape.parse(stale.body)).toMatchObject({ error: 'reregister', epoch });
  });

  it('for releasing a hold', async () => {
    const { m, agents } = await heldMaster();
    shapes.masterShape.parse((await m.api.operator('GET', '/master')).body);
    const dry = await m.api.operator('POST', '/master/recovery/release', { dryRun: true });
    expect(shapes.releaseShape.parse(dry.body).wouldMark.sort()).toEqual(agents.map((a) => a.id).sort());
    shapes.releaseShape.parse((await m.api.operator('POST', '/master/recovery/release', {})).body);
    shapes.errorShape.parse((await m.api.operator('POST', '/master/recovery/release', {})).body);
    await registerAgent(m);
  });

  it('for the Mesos-compatible endpoints', async () => {
    const { m } = await heldMaster(); // some agents listed as recovered
    await registerAgent(m, { hostname: 'b1', resources: { cpus: 2, ports: '[31000-32000]' } });
    await m.call('POST', '/api/v1/frameworks', { token: FRAMEWORK, body: { name: 'marathon', roles: ['web'], capabilities: ['MULTI_ROLE'] } });
    for (const type of ['GET_HEALTH', 'GET_MASTER', 'GET_AGENTS', 'GET_FRAMEWORKS']) {
      const res = await m.call('POST', '/api/v1', { token: OPERATOR, body: { type } });
      expect(res.status, type).toBe(200);
      mesosResponseShape.parse(res.body);
    }
    const slaves = await m.call('GET', '/master/slaves', { token: OPERATOR });
    expect(legacySlavesShape.parse(slaves.body).recovered_slaves.length).toBe(3);
    shapes.errorShape.parse((await m.call('POST', '/api/v1', { token: OPERATOR, body: { type: 'SUBSCRIBE' } })).body);
  });

  it('for the event stream', async () => {
    const m = await servingMaster();
    const since = m.clock.now();
    await registerAgent(m);
    m.clock.advance(60_000); // past the settle time: the event is readable
    const res = await m.app.request(`/api/v1/events?since=${since}&timeoutSeconds=0`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = [...(await res.text()).matchAll(/^data: (.*)$/gm)].map(([, data]) => registryEventShape.parse(JSON.parse(data!)));
    expect(events.map((e) => e.type)).toContain('AGENT_ADDED');
  });
});

describe('GET /doc', () => {
  it('serves HTML that loads only files the server itself serves, each with its content type', async () => {
    const { app } = testMaster();
    const res = await app.request('/doc');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(([, url]) => url!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    const types: Record<string, string> = { ...DOC_ASSETS, 'init.js': 'text/javascript; charset=utf-8' };
    for (const url of refs) {
      expect(url).toMatch(/^\/doc\/assets\/[\w.-]+$/);
      const asset = await app.request(url);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get('content-type'), url).toBe(types[url.slice('/doc/assets/'.length)]);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
    }
    const init = await (await app.request('/doc/assets/init.js')).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null'); // else Swagger UI sends the document to validator.swagger.io
    expect(init).not.toMatch(/https?:\/\//);
  });

  it('answers 404 for a file that is not one of its assets', async () => {
    const res = await testMaster().app.request('/doc/assets/package.json');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers a clear 404 where swagger-ui-dist is not installed (Lambda, Workers), while /openapi.json still works', async () => {
    const app = docRoutes(async () => undefined);
    for (const path of ['/doc', '/doc/assets/swagger-ui-bundle.js']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('not_found');
      expect(body.message).toContain('Node server');
    }
    expect((await app.request('/openapi.json')).status).toBe(200);
  });
});
