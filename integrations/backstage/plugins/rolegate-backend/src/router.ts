/**
 * The plugin's routes, under `/api/rolegate`:
 *
 * - `GET /grants`: the viewer's active grants;
 * - `GET /requests[?status=pending]`: the viewer's access requests;
 * - `POST /requests` (`role`, `durationSeconds`, `reason`, `ticket`,
 *   `breakGlass`): a new access request in the viewer's name;
 * - `POST /requests/:id/approve`, `POST /requests/:id/deny` (optional
 *   `comment`): the viewer's decision, which rolegate's policies admit or refuse;
 * - `GET /reach?entity=REF`: the roles that reach a catalog entity's routes;
 * - `GET /entity-requests?entity=REF`: the pending requests for those
 *   roles, marked `approvable` for an owner of the entity.
 *
 * Only signed-in users may call them: a plugin's service token has no
 * viewer to act for, and rolegate would refuse it anyway (it has no `iss`).
 */
import type {
  BackstageCredentials,
  BackstageUserPrincipal,
  HttpAuthService,
  LoggerService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import type { Request, Response } from 'express';
import Router from 'express-promise-router';
import express from 'express';
import type { AccessRequestInput, RolegateAccessClient, RolegateAnswer } from './client.js';
import { entityRequests } from './entity-requests.js';

/** What {@link createRouter} needs. */
export interface RouterOptions {
  readonly client: RolegateAccessClient;
  readonly httpAuth: HttpAuthService;
  /** Backstage's user info: the viewer's ownership refs, for `approvable`. */
  readonly userInfo: UserInfoService;
  readonly logger: LoggerService;
}

/** The router the plugin registers with Backstage's HTTP router. */
export function createRouter(options: RouterOptions): express.Router {
  const { client, httpAuth, userInfo, logger } = options;
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  /** The viewer's own bearer header, once Backstage has verified it is a user's. */
  const signedIn = async (
    req: Request,
  ): Promise<{
    authorization: string;
    credentials: BackstageCredentials<BackstageUserPrincipal>;
  }> => {
    const credentials = await httpAuth.credentials(req, { allow: ['user'] });
    const header = req.headers.authorization;
    // Backstage verified a bearer token, so the header is there; checked again for the types.
    if (header === undefined) throw new InputError('missing Authorization header');
    return { authorization: header, credentials };
  };
  const viewer = async (req: Request): Promise<string> => (await signedIn(req)).authorization;

  const answer = (res: Response, what: string, a: RolegateAnswer): void => {
    if (a.status >= 500) logger.warn(`rolegate answered ${a.status} to ${what}`);
    res.status(a.status).json(a.body);
  };

  router.get('/grants', async (req, res) => {
    answer(res, 'list grants', await client.listGrants(await viewer(req)));
  });

  router.get('/requests', async (req, res) => {
    const status = typeof req.query['status'] === 'string' ? req.query['status'] : undefined;
    answer(res, 'list requests', await client.listRequests(await viewer(req), status));
  });

  router.post('/requests', async (req, res) => {
    const authorization = await viewer(req);
    answer(
      res,
      'create request',
      await client.createRequest(authorization, requestInput(req.body)),
    );
  });

  router.post('/requests/:id/:decision(approve|deny)', async (req, res) => {
    const authorization = await viewer(req);
    const decision = req.params['decision'] === 'approve' ? 'approve' : 'deny';
    const comment = commentOf(req.body);
    const id = String(req.params['id']);
    answer(res, `${decision} request`, await client.decide(authorization, id, decision, comment));
  });

  router.get('/reach', async (req, res) => {
    const authorization = await viewer(req);
    answer(res, 'reach', await client.reach(authorization, entityOf(req.query['entity'])));
  });

  router.get('/entity-requests', async (req, res) => {
    const { authorization, credentials } = await signedIn(req);
    const entity = entityOf(req.query['entity']);
    const [reach, pending, info] = await Promise.all([
      client.reach(authorization, entity),
      client.listRequests(authorization, 'pending'),
      userInfo.getUserInfo(credentials),
    ]);
    // rolegate's refusal (unknown entity, no catalog, a bad token) is the answer.
    if (reach.status !== 200) return answer(res, 'reach', reach);
    if (pending.status !== 200) return answer(res, 'list requests', pending);
    res.json(
      entityRequests(
        entity,
        reach.body as Record<string, unknown>,
        pending.body as Record<string, unknown>,
        info,
      ),
    );
  });

  return router;
}

/** The `entity` query parameter: one entity ref with a kind (`component:default/payments-api`). */
function entityOf(value: unknown): string {
  if (typeof value !== 'string') throw new InputError('entity must be one entity ref');
  try {
    parseEntityRef(value);
  } catch {
    throw new InputError('entity must be an entity ref such as component:default/name');
  }
  return value;
}

/** The optional `comment` of an approval or denial; a missing or empty body is no comment. */
function commentOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InputError('the body must be a JSON object');
  }
  const { comment, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new InputError(`unknown fields: ${unknown.join(', ')}`);
  if (comment !== undefined && typeof comment !== 'string') {
    throw new InputError('comment must be a string');
  }
  return comment;
}

/**
 * The request form's fields with their JSON types checked; the values
 * themselves (role names, duration bounds, reasons) are rolegate's to judge.
 */
export function requestInput(body: unknown): AccessRequestInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('the body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const { role, durationSeconds, reason, ticket, breakGlass } = b;
  if (typeof role !== 'string') throw new InputError('role must be a string');
  if (typeof durationSeconds !== 'number') throw new InputError('durationSeconds must be a number');
  if (typeof reason !== 'string') throw new InputError('reason must be a string');
  if (ticket !== undefined && typeof ticket !== 'string')
    throw new InputError('ticket must be a string');
  if (breakGlass !== undefined && typeof breakGlass !== 'boolean') {
    throw new InputError('breakGlass must be a boolean');
  }
  return {
    role,
    durationSeconds,
    reason,
    ...(ticket === undefined ? {} : { ticket }),
    ...(breakGlass === undefined ? {} : { breakGlass }),
  };
}
