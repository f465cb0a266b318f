import { describe, it } from '@jest/globals';
import { check, checkRefused, DOCS, type Case, type Refusal } from './harness.js';

const A = DOCS.action;
const NA = DOCS.notAction;
const R = DOCS.resource;
const NR = DOCS.notResource;

const act = (
  name: string,
  doc: Case['doc'],
  stmt: Record<string, unknown>,
  action: string,
  holds: boolean,
): Case => ({
  name,
  doc,
  policy: [{ Effect: 'Allow', Resource: '*', ...stmt }],
  action,
  expect: holds ? 'Allow' : 'ImplicitDeny',
});
const resrc = (
  name: string,
  doc: Case['doc'],
  stmt: Record<string, unknown>,
  resource: string,
  holds: boolean,
): Case => ({
  name,
  doc,
  policy: [{ Effect: 'Allow', Action: 'svc:Do', ...stmt }],
  resource,
  expect: holds ? 'Allow' : 'ImplicitDeny',
});

const B = 'arn:aws:s3:::amzn-s3-demo-bucket';
const cases: Case[] = [
  act('exact action', A, { Action: 's3:GetObject' }, 's3:GetObject', true),
  act(
    'action names are case-insensitive (request)',
    A,
    { Action: 's3:GetObject' },
    'S3:GETOBJECT',
    true,
  ),
  act(
    'action names are case-insensitive (policy)',
    A,
    { Action: 'S3:getobject' },
    's3:GetObject',
    true,
  ),
  act('different action', A, { Action: 's3:GetObject' }, 's3:PutObject', false),
  act('same name, other service', A, { Action: 's3:GetObject' }, 'sqs:GetObject', false),
  act('service wildcard', A, { Action: 's3:*' }, 's3:DeleteBucket', true),
  act(
    'service wildcard does not cover other services',
    A,
    { Action: 's3:*' },
    'sqs:SendMessage',
    false,
  ),
  act('prefix wildcard', A, { Action: 'iam:*AccessKey*' }, 'iam:ListAccessKeys', true),
  act('prefix wildcard case-insensitive', A, { Action: 's3:Get*' }, 's3:getobjectacl', true),
  act('prefix wildcard miss', A, { Action: 's3:Get*' }, 's3:PutObject', false),
  act('? matches one character', A, { Action: 'svc:Get?tem' }, 'svc:GetItem', true),
  act('? needs exactly one character', A, { Action: 'svc:Get?tem' }, 'svc:Gettem', false),
  act('* alone matches every action', A, { Action: '*' }, 'anything:AtAll', true),
  act(
    'list of actions: OR',
    A,
    { Action: ['sqs:SendMessage', 's3:GetObject'] },
    's3:GetObject',
    true,
  ),
  act('* does not let a name match the service part', A, { Action: 's3:*' }, 's3x:Get', false),
  act('NotAction: listed action is excluded', NA, { NotAction: 'iam:*' }, 'iam:CreateUser', false),
  act('NotAction: other actions match', NA, { NotAction: 'iam:*' }, 's3:GetObject', true),
  act(
    'NotAction is case-insensitive',
    NA,
    { NotAction: 'IAM:CreateUser' },
    'iam:createuser',
    false,
  ),
  act('NotAction list', NA, { NotAction: ['iam:*', 's3:*'] }, 'sqs:SendMessage', true),
  act(
    'NotAction list excludes all listed',
    NA,
    { NotAction: ['iam:*', 's3:*'] },
    's3:GetObject',
    false,
  ),
  {
    name: 'Deny with NotAction denies everything but the listed actions',
    doc: NA,
    policy: [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', NotAction: 'iam:*', Resource: '*' },
    ],
    action: 's3:GetObject',
    expect: 'ExplicitDeny',
  },
  {
    name: 'Deny with NotAction leaves the listed actions allowed',
    doc: NA,
    policy: [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      { Effect: 'Deny', NotAction: 'iam:*', Resource: '*' },
    ],
    action: 'iam:ListUsers',
    expect: 'Allow',
  },
  resrc('exact resource', R, { Resource: `${B}/key` }, `${B}/key`, true),
  resrc(
    'resources are case-sensitive',
    R,
    { Resource: 'arn:aws:iam::123456789012:user/Bob' },
    'arn:aws:iam::123456789012:user/bob',
    false,
  ),
  resrc('* alone matches everything', R, { Resource: '*' }, 'arn:aws:anything:::x', true),
  resrc('* in the resource part crosses /', R, { Resource: `${B}/*` }, `${B}/a/b/c.jpg`, true),
  resrc(
    '*/test/* matches nested test folders',
    R,
    { Resource: `${B}/*/test/*` },
    `${B}/1/2/test/3/object.jpg`,
    true,
  ),
  resrc(
    '*/test/* matches empty segments',
    R,
    { Resource: `${B}/*/test/*` },
    `${B}//test/object.jpg`,
    true,
  ),
  resrc(
    '*/test/* does not match 1-test',
    R,
    { Resource: `${B}/*/test/*` },
    `${B}/1-test/object.jpg`,
    false,
  ),
  resrc(
    '* in the resource part crosses :',
    R,
    { Resource: 'arn:aws:logs:us-east-1:123456789012:log-group:*' },
    'arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s',
    true,
  ),
  resrc(
    '? in a segment',
    R,
    { Resource: 'arn:aws:sqs:us-east-?:123456789012:q' },
    'arn:aws:sqs:us-east-2:123456789012:q',
    true,
  ),
  resrc(
    '? needs one character',
    R,
    { Resource: 'arn:aws:sqs:us-east-?:123456789012:q' },
    'arn:aws:sqs:us-east-:123456789012:q',
    false,
  ),
  resrc(
    'region wildcard',
    R,
    { Resource: 'arn:aws:sqs:*:123456789012:q' },
    'arn:aws:sqs:eu-west-1:123456789012:q',
    true,
  ),
  resrc(
    'account segment must match',
    R,
    { Resource: 'arn:aws:sqs:*:123456789012:q' },
    'arn:aws:sqs:eu-west-1:999999999999:q',
    false,
  ),
  resrc(
    'mid-segment * does not cross a colon',
    R,
    { Resource: 'arn:aws:sqs:us-*-1:123456789012:q' },
    'arn:aws:sqs:us-east:x-1:123456789012:q',
    false,
  ),
  resrc(
    'segment-final * may expand beyond the colon',
    R,
    { Resource: 'arn:aws:sqs:us-*:123456789012:q' },
    'arn:aws:sqs:us-east:x:123456789012:q',
    true,
  ),
  resrc(
    'service segment must match',
    R,
    { Resource: 'arn:aws:sqs:*:*:q' },
    'arn:aws:sns:us-east-1:1:q',
    false,
  ),
  resrc('partition segment', R, { Resource: 'arn:aws-cn:s3:::b/*' }, 'arn:aws:s3:::b/x', false),
  resrc('list of resources: OR', R, { Resource: [`${B}/a`, `${B}/b`] }, `${B}/b`, true),
  resrc('non-ARN request resource matches only *', R, { Resource: `${B}/*` }, 'not-an-arn', false),
  resrc(
    'NotResource: listed resource excluded',
    NR,
    { NotResource: `${B}/secret/*` },
    `${B}/secret/x`,
    false,
  ),
  resrc(
    'NotResource: other resources match',
    NR,
    { NotResource: `${B}/secret/*` },
    `${B}/public/x`,
    true,
  ),
  resrc(
    'NotResource is case-sensitive',
    NR,
    { NotResource: `${B}/Secret/*` },
    `${B}/secret/x`,
    true,
  ),
  {
    name: 'Deny with NotResource denies everything outside',
    doc: NR,
    policy: [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:*', NotResource: [B, `${B}/*`] },
    ],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::other/x',
    expect: 'ExplicitDeny',
  },
  {
    name: 'Deny with NotResource leaves listed resources allowed',
    doc: NR,
    policy: [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:*', NotResource: [B, `${B}/*`] },
    ],
    action: 's3:GetObject',
    resource: `${B}/x`,
    expect: 'Allow',
  },
];

// Action page: wildcards go in the action name ("s3:Get*", "iam:*AccessKey*");
// a service prefix is a fixed name, and IAM refuses a policy whose prefix holds
// a wildcard. "*" on its own (every action of every service) stays valid.
const serviceWildcard = (
  name: string,
  element: 'Action' | 'NotAction',
  value: string | string[],
  path: string,
): Refusal => ({
  name,
  doc: element === 'Action' ? A : NA,
  policy: [{ Effect: 'Allow', Resource: '*', [element]: value }],
  code: 'ERR_POLICY_ACTION',
  path,
});
const refusals: Refusal[] = [
  serviceWildcard('Action "*:Get"', 'Action', '*:Get', '$.Statement[0].Action'),
  serviceWildcard('Action "*:*"', 'Action', '*:*', '$.Statement[0].Action'),
  serviceWildcard(
    'Action "doc*:Get" in a list',
    'Action',
    ['s3:GetObject', 'doc*:Get'],
    '$.Statement[0].Action[1]',
  ),
  serviceWildcard('Action "?3:Get*"', 'Action', '?3:Get*', '$.Statement[0].Action'),
  serviceWildcard('NotAction "*:Get"', 'NotAction', '*:Get', '$.Statement[0].NotAction'),
  serviceWildcard(
    'NotAction "s?s:Publish" in a list',
    'NotAction',
    ['iam:*', 's?s:Publish'],
    '$.Statement[0].NotAction[1]',
  ),
  serviceWildcard(
    'Action "GetObject" without a service',
    'Action',
    'GetObject',
    '$.Statement[0].Action',
  ),
];

describe('Action, NotAction, Resource, NotResource (IAM User Guide)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
  it.each(refusals.map((r) => [r.name, r] as const))('refused: %s', (_name, r) => checkRefused(r));
  it('NotAction with wildcards only in action names still loads', () => {
    check({
      name: 'NotAction with wildcards in the name only',
      doc: NA,
      policy: [{ Effect: 'Allow', Resource: '*', NotAction: ['iam:*', 's3:Get?bject*'] }],
      action: 'sqs:SendMessage',
      expect: 'Allow',
    });
  });
});
