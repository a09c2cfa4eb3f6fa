// Request bodies and queries of the framework routes (DESIGN.md, "Frameworks"), as schemas.ts's:
// unknown fields are ignored, wrong types are a 400 that names the field.
import { z } from 'zod';
import { SECRET_PATTERN, UUID_PATTERN } from '../secrets.ts';
import { canonicalId, name } from './schemas.ts';

/** A year, as the REST API's drain grace period; Mesos' failover_timeout is seconds too (a double). */
const failoverTimeoutSeconds = z.number().min(0).max(365 * 86_400).optional();
const list = z.array(name(128)).max(64);

/** Mesos' FrameworkInfo, the fields kept (webui_url as webuiUrl; capabilities by their Mesos names). */
const frameworkInfo = {
  name: name(255),
  user: z.string().max(255).optional(),
  roles: list.optional(),
  principal: z.string().max(255).optional(),
  hostname: z.string().max(255).optional(),
  webuiUrl: z.string().max(2048).optional(),
  capabilities: list.optional(),
};

export const frameworkRegisterBody = z
  .object({
    ...frameworkInfo,
    failoverTimeoutSeconds,
    frameworkId: z.string().regex(UUID_PATTERN, 'must be a UUID').transform(canonicalId).optional(),
    secret: z.string().regex(SECRET_PATTERN, 'must be at least 32 random bytes, base64url').optional(),
  })
  .refine((b) => (b.frameworkId === undefined) === (b.secret === undefined), { message: 'frameworkId and secret come together', path: ['secret'] });

/** The info is optional here: without it, the framework keeps the info it has; with it, `name` too (it replaces the info whole). */
export const frameworkReregisterBody = z
  .object({
    ...frameworkInfo,
    name: frameworkInfo.name.optional(),
    failoverTimeoutSeconds,
    rotateSecret: z.boolean().optional(),
  })
  .refine((b) => b.name !== undefined || (['user', 'roles', 'principal', 'hostname', 'webuiUrl', 'capabilities'] as const).every((k) => b[k] === undefined), {
    message: 'info replaces the framework\'s info whole: give its name with it',
    path: ['name'],
  });

export const frameworkHeartbeatBody = z.object({ epoch: z.number().int().min(0) });

export const frameworkListQuery = z.object({
  status: z.enum(['active', 'disconnected', 'completed']).optional(),
  cursor: z.string().max(4096).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
