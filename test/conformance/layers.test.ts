import { describe, it } from '@jest/globals';
import { check, DOCS, type Case } from './harness.js';

const E = DOCS.evaluation;
const PB = DOCS.boundaries;
const S = DOCS.scp;
const SE = DOCS.session;

const allow = (action: string, resource = '*', extra: Record<string, unknown> = {}): unknown => [
  { Effect: 'Allow', Action: action, Resource: resource, ...extra },
];
const deny = (action: string, resource = '*', extra: Record<string, unknown> = {}): unknown => [
  { Effect: 'Deny', Action: action, Resource: resource, ...extra },
];

const cases: Case[] = [
  {
    name: 'no statement applies: implicit deny',
    doc: E,
    policy: allow('s3:GetObject'),
    action: 's3:PutObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'an applicable Allow allows',
    doc: E,
    policy: allow('s3:*'),
    action: 's3:PutObject',
    expect: 'Allow',
  },
  {
    name: 'explicit Deny overrides Allow in the same policy',
    doc: E,
    policy: [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' },
    ],
    action: 's3:DeleteObject',
    expect: 'ExplicitDeny',
  },
  {
    name: 'Deny whose condition fails does not apply',
    doc: E,
    policy: [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 's3:*',
        Resource: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
    action: 's3:GetObject',
    context: { 'aws:SecureTransport': true },
    expect: 'Allow',
  },
  {
    name: 'Deny on another resource does not apply',
    doc: E,
    policy: [
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::secret/*' },
    ],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::public/x',
    expect: 'Allow',
  },
  {
    name: 'Deny alone gives explicit deny',
    doc: E,
    policy: deny('*'),
    action: 'svc:Do',
    expect: 'ExplicitDeny',
  },
  // Permissions boundaries
  {
    name: 'boundary and identity both allow',
    doc: PB,
    policy: allow('s3:GetObject'),
    boundary: [allow('s3:*')],
    action: 's3:GetObject',
    expect: 'Allow',
  },
  {
    name: 'boundary does not allow: implicit deny',
    doc: PB,
    policy: allow('s3:*'),
    boundary: [allow('s3:GetObject')],
    action: 's3:PutObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'boundary alone never grants',
    doc: PB,
    policy: allow('sqs:*'),
    boundary: [allow('s3:*')],
    action: 's3:GetObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'Deny in the boundary wins',
    doc: PB,
    policy: allow('s3:*'),
    boundary: [
      [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' },
      ],
    ],
    action: 's3:DeleteObject',
    expect: 'ExplicitDeny',
  },
  {
    name: 'boundary with several policies: one Allow suffices',
    doc: PB,
    policy: allow('s3:GetObject'),
    boundary: [allow('sqs:*'), allow('s3:Get*')],
    action: 's3:GetObject',
    expect: 'Allow',
  },
  // Guardrails (SCP analogue)
  {
    name: 'guardrail and identity allow',
    doc: S,
    policy: allow('s3:GetObject'),
    guardrails: [allow('*')],
    action: 's3:GetObject',
    expect: 'Allow',
  },
  {
    name: 'guardrail without an Allow: implicit deny',
    doc: S,
    policy: allow('s3:GetObject'),
    guardrails: [allow('sqs:*')],
    action: 's3:GetObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'guardrail Deny overrides identity Allow',
    doc: S,
    policy: allow('*'),
    guardrails: [
      [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 'iam:*', Resource: '*' },
      ],
    ],
    action: 'iam:CreateUser',
    expect: 'ExplicitDeny',
  },
  {
    name: 'guardrail Allow alone never grants',
    doc: S,
    policy: allow('sqs:*'),
    guardrails: [allow('*')],
    action: 's3:GetObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'guardrail Deny with a condition',
    doc: S,
    policy: allow('*'),
    guardrails: [
      [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
        },
      ],
    ],
    action: 's3:GetObject',
    context: { 'aws:RequestedRegion': 'us-east-1' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'guardrail region condition satisfied',
    doc: S,
    policy: allow('*'),
    guardrails: [
      [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
        },
      ],
    ],
    action: 's3:GetObject',
    context: { 'aws:RequestedRegion': 'eu-west-1' },
    expect: 'Allow',
  },
  // Session policies
  {
    name: 'session policy and identity allow',
    doc: SE,
    policy: allow('s3:*'),
    session: [allow('s3:GetObject')],
    action: 's3:GetObject',
    expect: 'Allow',
  },
  {
    name: 'session policy narrows the identity',
    doc: SE,
    policy: allow('s3:*'),
    session: [allow('s3:GetObject')],
    action: 's3:PutObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'session policy never grants alone',
    doc: SE,
    policy: allow('sqs:*'),
    session: [allow('*')],
    action: 's3:GetObject',
    expect: 'ImplicitDeny',
  },
  {
    name: 'Deny in the session policy wins',
    doc: SE,
    policy: allow('s3:*'),
    session: [
      [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Deny', Action: 's3:PutObject', Resource: '*' },
      ],
    ],
    action: 's3:PutObject',
    expect: 'ExplicitDeny',
  },
  {
    name: 'all four layers allow',
    doc: E,
    policy: allow('s3:GetObject'),
    guardrails: [allow('*')],
    boundary: [allow('s3:*')],
    session: [allow('s3:Get*')],
    action: 's3:GetObject',
    expect: 'Allow',
  },
  {
    name: 'all layers but the session allow',
    doc: E,
    policy: allow('s3:GetObject'),
    guardrails: [allow('*')],
    boundary: [allow('s3:*')],
    session: [allow('sqs:*')],
    action: 's3:GetObject',
    expect: 'ImplicitDeny',
  },
];

describe('evaluation logic across layers (IAM User Guide, Organizations guide)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));
});
