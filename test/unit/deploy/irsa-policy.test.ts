/**
 * The permission policy of rolegate's own IAM role (iam/rolegate-policy.json,
 * the IRSA role of docs/eks.md) grants exactly what the code calls: the AWS
 * API calls are read from src/ (every `XxxCommand` and `paginateXxx`
 * imported from @aws-sdk/client-iam and @aws-sdk/client-sts, or taken from
 * the module src/aws/sdk.ts loads on first use: `const { XxxCommand } =
 * await iamSdk()`), each becomes
 * the IAM actions it needs, and the policy's actions must be that set, none
 * missing (a sync or an STS call failing with AccessDenied in production) and
 * none extra (privilege nobody uses). docs/eks.md shows the file verbatim.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (...path: string[]): string => readFileSync(join(root, ...path), 'utf8');
const POLICY_FILE = 'iam/rolegate-policy.json';

/** Every .ts file under src/, as [path, text]. */
const sources: [string, string][] = readdirSync(join(root, 'src'), {
  recursive: true,
  encoding: 'utf8',
})
  .filter((f) => f.endsWith('.ts'))
  .map((f) => [`src/${f}`, read('src', f)]);

const SERVICES = { '@aws-sdk/client-iam': 'iam', '@aws-sdk/client-sts': 'sts' } as const;

const LAZY = { iamSdk: 'iam', stsSdk: 'sts' } as const;

/**
 * `iam:Xxx` / `sts:Xxx` for each command or paginator a file imports
 * (type-only imports aside) or destructures from `await iamSdk()` /
 * `await stsSdk()`.
 */
function apiCalls(text: string): Set<string> {
  const calls = new Set<string>();
  const lists: [string, string][] = [];
  for (const m of text.matchAll(
    /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'(@aws-sdk\/client-(?:iam|sts))';/gm,
  )) {
    if (m[1] !== undefined) continue;
    lists.push([SERVICES[m[3] as keyof typeof SERVICES], m[2] ?? '']);
  }
  for (const m of text.matchAll(/\bconst\s*\{([^}]*)\}\s*=\s*await\s+(iamSdk|stsSdk)\(\)/g))
    lists.push([LAZY[m[2] as keyof typeof LAZY], m[1] ?? '']);
  for (const [service, names] of lists) {
    for (const raw of names.split(',')) {
      const name = raw.trim();
      if (name === '' || name.startsWith('type ')) continue;
      const imported = name.split(/\s+as\s+|\s*:\s*/)[0] ?? '';
      const api = /^(\w+)Command$/.exec(imported)?.[1] ?? /^paginate(\w+)$/.exec(imported)?.[1];
      if (api !== undefined) calls.add(`${service}:${api}`);
    }
  }
  return calls;
}

/** Files that call `api`, for the parameters they pass. */
const callers = (api: string): string[] =>
  sources.filter(([, text]) => apiCalls(text).has(api)).map(([, text]) => text);

/**
 * The IAM actions rolegate's own role needs for one API call. By default the
 * call's own action; the exceptions are STS's:
 * - AssumeRole with `SourceIdentity` also needs sts:SetSourceIdentity, and
 *   with session `Tags` sts:TagSession (read from the code that calls it);
 * - AssumeRoleWithWebIdentity is not signed with rolegate's credentials: the
 *   caller's token and the target role's trust policy authorize it;
 * - GetCallerIdentity needs no permission (AWS allows it to every principal).
 */
function actionsFor(api: string): string[] {
  switch (api) {
    case 'sts:AssumeRole': {
      const text = callers(api).join('\n');
      return [
        api,
        ...(/\bSourceIdentity\b/.test(text) ? ['sts:SetSourceIdentity'] : []),
        ...(/\bTags\b/.test(text) ? ['sts:TagSession'] : []),
      ];
    }
    case 'sts:AssumeRoleWithWebIdentity':
    case 'sts:GetCallerIdentity':
      return [];
    default:
      return [api];
  }
}

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}
const policyText = read(POLICY_FILE);
const policy = JSON.parse(policyText) as { Version: string; Statement: Statement[] };
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const granted = policy.Statement.flatMap((s) => list(s.Action));

const called = new Set(sources.flatMap(([, text]) => [...apiCalls(text)]));
const needed = new Set([...called].flatMap(actionsFor));

describe(`${POLICY_FILE} and the AWS calls in src/`, () => {
  it('finds the calls rolegate is known to make (the scan itself works)', () => {
    for (const api of [
      'iam:ListRoles',
      'iam:GetRole',
      'sts:AssumeRole',
      'sts:AssumeRoleWithWebIdentity',
    ])
      expect([...called]).toContain(api);
    expect(
      apiCalls(
        "import { FooCommand as Foo, paginateBar, type BazCommand } from '@aws-sdk/client-iam';",
      ),
    ).toEqual(new Set(['iam:Foo', 'iam:Bar']));
    expect(apiCalls("import type { FooCommand } from '@aws-sdk/client-sts';")).toEqual(new Set());
    expect(apiCalls('const { QuxCommand, paginateQuux, STSClient } = await stsSdk();\n')).toEqual(
      new Set(['sts:Qux', 'sts:Quux']),
    );
  });

  it('grants every action the calls need, and nothing else', () => {
    const missing = [...needed].filter((a) => !granted.includes(a)).sort();
    const extra = granted.filter((a) => !needed.has(a)).sort();
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
  });

  it('lists each action once, only Allow statements, no wildcard actions', () => {
    expect(new Set(granted).size).toBe(granted.length);
    expect(policy.Version).toBe('2012-10-17');
    for (const s of policy.Statement) {
      expect([s.Sid, s.Effect]).toEqual([s.Sid, 'Allow']);
      for (const a of list(s.Action)) expect(a).not.toContain('*');
    }
  });

  it('uses Resource "*" only for the actions IAM cannot scope to a resource', () => {
    const unscoped = new Set(['iam:ListRoles', 'iam:GetAccountAuthorizationDetails']);
    const scopes = policy.Statement.flatMap((s) =>
      list(s.Action).map((a) => [a, list(s.Resource).includes('*') ? ['*'] : 'scoped']),
    );
    expect(scopes).toEqual(
      policy.Statement.flatMap((s) =>
        list(s.Action).map((a) => [a, unscoped.has(a) ? ['*'] : 'scoped']),
      ),
    );
    // "*" alone, not beside other resources, for the unscoped ones.
    for (const s of policy.Statement.filter((s) => list(s.Resource).includes('*')))
      expect(list(s.Resource)).toEqual(['*']);
    // Roles rolegate reads and assumes sit under a path, never every role of the account.
    const roleScoped = policy.Statement.filter((s) =>
      list(s.Action).some((a) =>
        /^iam:(GetRole|ListRolePolicies|GetRolePolicy|ListAttachedRolePolicies)$|^sts:/.test(a),
      ),
    );
    for (const s of roleScoped)
      for (const r of list(s.Resource))
        expect(r).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+\/\*$/);
  });
});

describe('docs/eks.md', () => {
  it(`shows ${POLICY_FILE} verbatim`, () => {
    const doc = read('docs', 'eks.md');
    const block = new RegExp(
      `<!-- ${POLICY_FILE.replace(/[./]/g, '\\$&')} -->\\n+\`\`\`json\\n([\\s\\S]*?)^\`\`\`$`,
      'm',
    ).exec(doc)?.[1];
    expect(block).toBe(policyText);
  });

  it('explains every statement by its Sid', () => {
    const doc = read('docs', 'eks.md');
    for (const s of policy.Statement)
      expect({ sid: s.Sid, inDoc: doc.includes(`\`${s.Sid}\``) }).toEqual({
        sid: s.Sid,
        inDoc: true,
      });
  });
});
