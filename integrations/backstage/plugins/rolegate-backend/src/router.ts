/**
 * The plugin's routes, under `/api/rolegate`:
 *
 * - `GET /grants`: the viewer's active grants;
 * - `GET /requests[?status=pending]`: the viewer's access requests;
 * - `POST /requests` (`role`, `durationSeconds`, `reason`, `ticket`,
 *   `breakGlass`): a new access request in the viewer's name.
 *
 * Only signed-in users may call them: a plugin's service token has no
 * viewer to act for, and rolegate would refuse it anyway (it has no `iss`).
 */
import type { HttpAuthService, LoggerService } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import type { Request, Response } from 'express';
import Router from 'express-promise-router';
import express from 'express';
import type { AccessRequestInput, RolegateAccessClient, RolegateAnswer } from './client.js';

/** What {@link createRouter} needs. */
export interface RouterOptions {
  readonly client: RolegateAccessClient;
  readonly httpAuth: HttpAuthService;
  readonly logger: LoggerService;
}

/** The router the plugin registers with Backstage's HTTP router. */
export function createRouter(options: RouterOptions): express.Router {
  const { client, httpAuth, logger } = options;
  const router = Router();
  router.use(express.json({ limit: '16kb' }));

  /** The viewer's own bearer header, once Backstage has verified it is a user's. */
  const viewer = async (req: Request): Promise<string> => {
    await httpAuth.credentials(req, { allow: ['user'] });
    const header = req.headers.authorization;
    // Backstage verified a bearer token, so the header is there; checked again for the types.
    if (header === undefined) throw new InputError('missing Authorization header');
    return header;
  };

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

  return router;
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
