/**
 * `POST /slack/interactions` on the access listener: Slack's interactive
 * callback for the approve and deny buttons of `format: slack` webhook
 * messages (docs/access.md, "Slack approvals"). Not part of the JSON API:
 * Slack posts a form (`payload=<JSON>`) and authenticates with its signing
 * secret, not a token. A callback is taken only when it is Slack's
 * (`src/access/slack.ts`: signature, timestamp window, never seen before),
 * and its clicking user is mapped to an identity; the approval or denial
 * then goes through the access service exactly as one from the page or the
 * API, decided by `rolegate:ApproveAccessRequest` under that identity's
 * roles. Every refusal is audited (`access_refused`, with what was expected
 * and found); the client, Slack, gets only the code and its generic message.
 *
 * Slack ignores the body of a `block_actions` answer, so none is posted back
 * to the payload's `response_url`: rolegate never fetches a URL a callback names.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RolegateError, type ErrorCode } from '../../errors.js';
import {
  mappedSlackUser,
  parseSlackAction,
  slackReplayed,
  slackReplayKey,
  SLACK_SIGNATURE_HEADER,
  SLACK_TIMESTAMP_HEADER,
  verifySlackRequest,
  type SlackAction,
} from '../../access/slack.js';
import type { SlackConfig, SlackUserConfig } from '../../access/options.js';
import {
  isAudited,
  markAudited,
  type AccessEvents,
  type AccessService,
  type ActionAuthorizer,
  type RefusalDetail,
} from '../../access/service.js';
import {
  AccessInputError,
  parseForm,
  readBody,
  requireContentType,
  type ApiPrincipal,
  type ApiRequest,
} from './access-input.js';

/** The callback's path on the access listener. */
export const SLACK_INTERACTIONS_PATH = '/slack/interactions';

/** What the callback needs from the composition root. */
export interface SlackDeps<R extends ApiRequest, P extends ApiPrincipal> {
  /** `access.slack`, read per call. */
  readonly config: () => SlackConfig | undefined;
  /** The signing secret (the value of the variable `signingSecretEnv` names). */
  readonly secret: (name: string) => string | undefined;
  /** Records a nonce until its expiry; false when it was already recorded (the store's). */
  readonly claimNonce: (nonce: string, expiresAtMs: number, nowMs: number) => Promise<boolean>;
  /** The identity a mapped Slack user acts as; throws a `RolegateError` saying why not. */
  readonly principalOf: (user: SlackUserConfig) => P;
  readonly service: AccessService;
  readonly authorizer: (request: R, principal: P) => ActionAuthorizer;
  readonly events: AccessEvents;
  readonly now: () => number;
}

/** Who a refusal is about, as far as it is known. */
interface Known {
  readonly principal?: ApiPrincipal;
  readonly requestId?: string;
}

/** Audits the refusal and returns it as an error marked audited, for the listener to answer. */
function refused<R extends ApiRequest, P extends ApiPrincipal>(
  deps: SlackDeps<R, P>,
  code: ErrorCode,
  why: RefusalDetail,
  known: Known = {},
): RolegateError {
  deps.events.refused({
    at: deps.now(),
    action: `POST ${SLACK_INTERACTIONS_PATH}`,
    code,
    actor: known.principal?.subject ?? '',
    issuer: known.principal?.issuer ?? '',
    ...(known.requestId === undefined ? {} : { requestId: known.requestId }),
    expected: why.expected,
    actual: why.actual,
  });
  return markAudited(new RolegateError(code, why.actual));
}

/** Refuses unless the raw body is Slack's, signed within the window and never taken before. */
async function admitSignedBody<R extends ApiRequest, P extends ApiPrincipal>(
  deps: SlackDeps<R, P>,
  config: SlackConfig,
  authz: R,
  body: Buffer,
): Promise<void> {
  const timestamp = authz.headers[SLACK_TIMESTAMP_HEADER];
  const signature = authz.headers[SLACK_SIGNATURE_HEADER];
  const now = deps.now();
  const tolerance = config.toleranceSeconds;
  const bad = verifySlackRequest(
    deps.secret(config.signingSecretEnv),
    { timestamp, signature },
    body,
    Math.floor(now / 1000),
    tolerance,
  );
  if (bad !== undefined) throw refused(deps, bad.code, bad);
  // Verified, so both headers are present and well formed.
  const nonce = slackReplayKey(timestamp as string, signature as string);
  // Kept until the timestamp leaves the window; after that the window check refuses it.
  const until = (Number(timestamp) + tolerance) * 1000 + 1000;
  let first: boolean;
  try {
    first = await deps.claimNonce(nonce, until, now);
  } catch (err) {
    throw refused(deps, 'ERR_ACCESS_STORE', {
      expected: 'the access store to record the callback (replay check)',
      actual: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
  if (!first) throw refused(deps, 'ERR_ACCESS_SLACK_REPLAY', slackReplayed(tolerance));
}

/** The verified callback's action, or a refusal naming the field. */
function actionOf<R extends ApiRequest, P extends ApiPrincipal>(
  deps: SlackDeps<R, P>,
  body: Buffer,
): SlackAction {
  let form: ReadonlyMap<string, string>;
  try {
    form = parseForm(body, ['payload']);
  } catch (err) {
    if (!(err instanceof AccessInputError)) throw err;
    throw refused(deps, 'ERR_ACCESS_SLACK_PAYLOAD', err);
  }
  const action = parseSlackAction(form.get('payload'));
  if ('code' in action) throw refused(deps, action.code, action);
  return action;
}

/** The identity the clicking user acts as, or a refusal (unknown user, or a mapping that does not hold). */
function principalFor<R extends ApiRequest, P extends ApiPrincipal>(
  deps: SlackDeps<R, P>,
  config: SlackConfig,
  action: SlackAction,
): P {
  const known = { requestId: action.requestId };
  const user = mappedSlackUser(config, action.userId);
  if ('code' in user) throw refused(deps, user.code, user, known);
  try {
    return deps.principalOf(user);
  } catch (err) {
    throw refused(
      deps,
      'ERR_ACCESS_SLACK_USER',
      {
        expected: `Slack user ${action.userId} mapped to an identity a configured issuer would accept`,
        actual: err instanceof Error ? err.message : String(err),
      },
      known,
    );
  }
}

/** `POST /slack/interactions`: verifies, maps and decides one button click. */
export async function slackInteraction<R extends ApiRequest, P extends ApiPrincipal>(
  req: IncomingMessage,
  res: ServerResponse,
  authz: R,
  deps: SlackDeps<R, P>,
): Promise<void> {
  const config = deps.config();
  if (config === undefined) throw new RolegateError('ERR_ACCESS_NOT_FOUND');
  let body: Buffer;
  try {
    requireContentType(req, 'application/x-www-form-urlencoded');
    body = await readBody(req);
  } catch (err) {
    if (!(err instanceof AccessInputError)) throw err;
    throw refused(deps, err.code, err);
  }
  await admitSignedBody(deps, config, authz, body);
  const action = actionOf(deps, body);
  const principal = principalFor(deps, config, action);
  const caller = {
    issuer: principal.issuer,
    subject: principal.subject,
    groups: principal.groups ?? [],
  };
  const authorize = deps.authorizer(authz, principal);
  const comment = `via Slack (${action.userId})`;
  try {
    const request =
      action.verb === 'approve'
        ? (await deps.service.approve(caller, authorize, action.requestId, comment)).request
        : await deps.service.deny(caller, authorize, action.requestId, comment);
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(
        `${JSON.stringify({ text: `${action.verb}: request ${request.id} is ${request.status}` })}\n`,
      );
  } catch (err) {
    if (err instanceof RolegateError && !isAudited(err)) {
      throw refused(
        deps,
        err.code,
        { expected: `the ${action.verb} to succeed`, actual: err.message },
        {
          principal,
          requestId: action.requestId,
        },
      );
    }
    throw err;
  }
}
