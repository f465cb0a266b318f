/**
 * Slack approvals: the checks an interactive callback (a button clicked in
 * a `format: slack` webhook message) passes before anything acts on it, and
 * the buttons those messages carry. Slack signs each callback with the
 * app's signing secret: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
 * "v0:<X-Slack-Request-Timestamp>:<raw body>">`. A callback is taken only
 * when that signature matches (compared in constant time), its timestamp is
 * within the replay window of now, and the same timestamp and signature
 * were not seen before within that window (the store remembers them, so a
 * replay through another replica is refused too). The clicking Slack user
 * is then mapped through `access.slack.users`, operator config, to the
 * identity whose policies decide the approval.
 *
 * Pure: no I/O and no clock; every refusal is a {@link SlackRefusal} with
 * the catalogue code and, for the operator, what was expected and found.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import type { SlackConfig, SlackUserConfig } from './options.js';

/** The header with Slack's signature. */
export const SLACK_SIGNATURE_HEADER = 'x-slack-signature';

/** The header with the unix seconds the signature was made at. */
export const SLACK_TIMESTAMP_HEADER = 'x-slack-request-timestamp';

/** The `action_id` of the approve button. */
export const SLACK_APPROVE_ACTION = 'rolegate_approve';

/** The `action_id` of the deny button. */
export const SLACK_DENY_ACTION = 'rolegate_deny';

/** A refused callback: the code for the client, the detail for the audit record. */
export interface SlackRefusal {
  readonly code: ErrorCode;
  readonly expected: string;
  readonly actual: string;
}

/** What a verified callback asks for. */
export interface SlackAction {
  /** The clicking user's Slack id. */
  readonly userId: string;
  readonly verb: 'approve' | 'deny';
  /** The access request id the button carries. */
  readonly requestId: string;
}

/** `v0=<hex>` of `body` at `timestamp` under `secret`: what Slack sends. */
export function slackSignature(secret: string, timestamp: string, body: string | Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(body);
  return `v0=${mac.digest('hex')}`;
}

/** A header value quoted for the operator (bounded). */
const quoted = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);

/**
 * Why the timestamp is refused, or undefined: it must be unix seconds
 * within `toleranceSeconds` of `nowSeconds` (either side, for clock skew).
 */
function timestampRefusal(
  timestamp: string | undefined,
  nowSeconds: number,
  toleranceSeconds: number,
): SlackRefusal | undefined {
  const expected = `${SLACK_TIMESTAMP_HEADER}: unix seconds within ${toleranceSeconds} s of now (${nowSeconds})`;
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) {
    return {
      code: 'ERR_ACCESS_SLACK_SIGNATURE',
      expected,
      actual: timestamp === undefined ? `no ${SLACK_TIMESTAMP_HEADER}` : `${quoted(timestamp)}`,
    };
  }
  const skew = nowSeconds - Number(timestamp);
  if (Math.abs(skew) > toleranceSeconds) {
    return {
      code: 'ERR_ACCESS_SLACK_STALE',
      expected,
      actual: `a timestamp ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'}`,
    };
  }
  return undefined;
}

/**
 * Why a callback's signature is refused, or undefined when it is Slack's:
 * the timestamp within the window ({@link timestampRefusal}), then
 * `signature` equal to {@link slackSignature} of the raw body. `secret`
 * undefined (the variable `signingSecretEnv` names is unset) refuses all.
 */
export function verifySlackRequest(
  secret: string | undefined,
  headers: { readonly timestamp: string | undefined; readonly signature: string | undefined },
  body: Buffer,
  nowSeconds: number,
  toleranceSeconds: number,
): SlackRefusal | undefined {
  const stale = timestampRefusal(headers.timestamp, nowSeconds, toleranceSeconds);
  if (stale !== undefined) return stale;
  const expected = `${SLACK_SIGNATURE_HEADER}: v0=<HMAC-SHA256 of v0:<timestamp>:<body> under the signing secret>`;
  if (secret === undefined || secret === '') {
    return {
      code: 'ERR_ACCESS_SLACK_SIGNATURE',
      expected,
      actual: 'no signing secret: the variable access.slack.signingSecretEnv names is not set',
    };
  }
  const got = headers.signature ?? '';
  if (!/^v0=[0-9a-f]{64}$/.test(got)) {
    return {
      code: 'ERR_ACCESS_SLACK_SIGNATURE',
      expected,
      actual: headers.signature === undefined ? `no ${SLACK_SIGNATURE_HEADER}` : 'not v0=<64 hex>',
    };
  }
  const want = Buffer.from(slackSignature(secret, headers.timestamp as string, body));
  if (!timingSafeEqual(want, Buffer.from(got))) {
    return {
      code: 'ERR_ACCESS_SLACK_SIGNATURE',
      expected,
      actual: 'a signature that does not match (forged, altered body, or another secret)',
    };
  }
  return undefined;
}

/**
 * The key a verified callback is remembered by for the replay check: a
 * hash of its timestamp and signature (the signature already covers the
 * body), so the store never holds a usable signature.
 */
export function slackReplayKey(timestamp: string, signature: string): string {
  return `slack:${createHash('sha256').update(`${timestamp}:${signature}`).digest('base64url')}`;
}

/** The refusal of a callback whose timestamp and signature were already taken. */
export function slackReplayed(toleranceSeconds: number): SlackRefusal {
  return {
    code: 'ERR_ACCESS_SLACK_REPLAY',
    expected: `a timestamp and signature not seen in the last ${toleranceSeconds} s`,
    actual: 'a callback already taken (replayed)',
  };
}

const payloadRefusal = (expected: string, actual: string): SlackRefusal => ({
  code: 'ERR_ACCESS_SLACK_PAYLOAD',
  expected,
  actual,
});

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON of the form's `payload` field as an object, or why not. */
function payloadObject(
  text: string | undefined,
): { readonly value: Record<string, unknown> } | { readonly refusal: SlackRefusal } {
  if (text === undefined)
    return { refusal: payloadRefusal('a payload form field', 'no payload field') };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { refusal: payloadRefusal('payload: a JSON object', 'payload is not JSON') };
  }
  return isObject(value)
    ? { value }
    : { refusal: payloadRefusal('payload: a JSON object', 'another JSON value') };
}

/**
 * The action a verified `block_actions` payload asks for, or why it is
 * refused: `type` block_actions, `user.id` a string, `actions` exactly one
 * button with `action_id` {@link SLACK_APPROVE_ACTION} or
 * {@link SLACK_DENY_ACTION} and the request id as `value`.
 */
export function parseSlackAction(payloadText: string | undefined): SlackAction | SlackRefusal {
  const parsed = payloadObject(payloadText);
  if ('refusal' in parsed) return parsed.refusal;
  const payload = parsed.value;
  if (payload['type'] !== 'block_actions') {
    return payloadRefusal(
      'payload.type block_actions',
      `payload.type ${quoted(String(payload['type']))}`,
    );
  }
  const user = payload['user'];
  const userId = isObject(user) ? user['id'] : undefined;
  if (typeof userId !== 'string' || userId === '') {
    return payloadRefusal('payload.user.id: a Slack user id', 'no payload.user.id');
  }
  const actions = payload['actions'];
  const action = Array.isArray(actions) && actions.length === 1 ? actions[0] : undefined;
  if (!isObject(action)) {
    return payloadRefusal('payload.actions: exactly one action', 'no single action');
  }
  const id = action['action_id'];
  const verb =
    id === SLACK_APPROVE_ACTION ? 'approve' : id === SLACK_DENY_ACTION ? 'deny' : undefined;
  if (verb === undefined) {
    return payloadRefusal(
      `payload.actions[0].action_id ${SLACK_APPROVE_ACTION} or ${SLACK_DENY_ACTION}`,
      `action_id ${quoted(String(id))}`,
    );
  }
  const requestId = action['value'];
  if (typeof requestId !== 'string' || requestId === '' || requestId.length > 200) {
    return payloadRefusal('payload.actions[0].value: a request id', 'no request id');
  }
  return { userId, verb, requestId };
}

/** The identity `userId` is mapped to in `access.slack.users`, or why the user is refused. */
export function mappedSlackUser(
  config: SlackConfig,
  userId: string,
): SlackUserConfig | SlackRefusal {
  const mapped = Object.hasOwn(config.users, userId) ? config.users[userId] : undefined;
  return (
    mapped ?? {
      code: 'ERR_ACCESS_SLACK_USER',
      expected: `a Slack user listed under access.slack.users (${Object.keys(config.users).length} listed)`,
      actual: `Slack user ${quoted(userId)} is not listed`,
    }
  );
}

/** The Block Kit blocks of a pending request's message: its text and approve and deny buttons. */
export function slackApprovalBlocks(text: string, requestId: string): object[] {
  const button = (label: string, actionId: string, style: 'primary' | 'danger') => ({
    type: 'button',
    text: { type: 'plain_text', text: label },
    action_id: actionId,
    value: requestId,
    style,
  });
  return [
    { type: 'section', text: { type: 'plain_text', text, emoji: false } },
    {
      type: 'actions',
      block_id: 'rolegate_decision',
      elements: [
        button('Approve', SLACK_APPROVE_ACTION, 'primary'),
        button('Deny', SLACK_DENY_ACTION, 'danger'),
      ],
    },
  ];
}
