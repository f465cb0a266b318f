/**
 * The dimensions of the request space and the representative values of
 * each: claims (one per claim a condition reads), headers, host, source
 * address, TLS, time. Each key a condition reads is placed in one
 * dimension, or the result is unknown: no key is skipped.
 */
import type { IssuerConfig } from '../identity/options.js';
import { issuerKeyPrefix } from '../identity/principal.js';
import { parseCidr } from '../policy/address.js';
import { parseDate, parseNumber } from '../policy/values.js';
import { canonicalIp } from '../request/normalize.js';
import { literalTokens, plusTokens, tokenPredicate, type Predicate } from './automaton.js';
import type { ConditionUse } from './inventory.js';
import {
  stringPredicates,
  stringReps,
  type LabelledPredicate,
  type StringRep,
  type VariableValue,
} from './strings.js';
import { ProveUnknown } from './unknown.js';

/** Where a context key's value comes from. */
export type KeyDim =
  | { readonly kind: 'claim'; readonly claim: string }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'host' | 'sourceip' | 'secure' | 'time' | 'method' | 'path' }
  /** Fixed by the role or route (aws:PrincipalArn, aws:ResourceTag/...): the engine reads it. */
  | { readonly kind: 'fixed' };

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
const CLAIM_NAME = /^[^.\s]+$/;

/** The dimension of a lower-cased key, or undefined when the prover does not cover it. */
export function keyDim(key: string, issuers: readonly IssuerConfig[]): KeyDim | undefined {
  if (key.startsWith('jwt:')) {
    const claim = key.slice(4);
    return CLAIM_NAME.test(claim) ? { kind: 'claim', claim } : undefined;
  }
  if (key.startsWith('http:header/')) {
    const name = key.slice(12);
    return SECRET_HEADERS.has(name) ? { kind: 'fixed' } : { kind: 'header', name };
  }
  if (key === 'aws:principalarn' || key.startsWith('aws:resourcetag/')) return { kind: 'fixed' };
  const simple: Record<string, KeyDim> = {
    'aws:sourceip': { kind: 'sourceip' },
    'aws:securetransport': { kind: 'secure' },
    'aws:currenttime': { kind: 'time' },
    'aws:epochtime': { kind: 'time' },
    'http:method': { kind: 'method' },
    'http:path': { kind: 'path' },
    'http:host': { kind: 'host' },
  };
  const found = simple[key];
  if (found !== undefined) return found;
  if (key === 'rolegate:groups') {
    const names = new Set(issuers.map((i) => i.groupsClaim?.toLowerCase()));
    const [only] = names;
    return names.size === 1 && only !== undefined && CLAIM_NAME.test(only)
      ? { kind: 'claim', claim: only }
      : undefined;
  }
  for (const issuer of issuers) {
    const prefix = `${issuerKeyPrefix(issuer.issuer).toLowerCase()}:`;
    const field = key.startsWith(prefix) ? key.slice(prefix.length) : '';
    if (field === 'sub' || field === 'aud' || field === 'amr')
      return { kind: 'claim', claim: field };
  }
  return undefined;
}

/** One value of a claim: absent, a string, or a list of strings; with its cell's description. */
export interface ClaimValue {
  readonly value: string | readonly string[] | undefined;
  readonly label: string;
}

/** Claims substituted as variables may only hold these characters (ERR_CLAIM_VARIABLE_UNSAFE otherwise). */
const SAFE_CLAIM_CHAR = /^[A-Za-z0-9_+=,.@:-]$/;
const NON_EMPTY = tokenPredicate(plusTokens(() => true, []));
/** Longest claim value the default variable pattern admits. */
const SAFE_MAX = 256;

/**
 * The default variable claim pattern (`^[A-Za-z0-9_+=,.@:-]{1,256}$`) as an
 * automaton: the state counts safe characters, -1 after an unsafe one.
 */
const SAFE_CLAIM: Predicate<number> = {
  init: 0,
  step: (n, c) => (n < 0 || !SAFE_CLAIM_CHAR.test(c) ? -1 : Math.min(n + 1, SAFE_MAX + 1)),
  accept: (n) => n >= 1 && n <= SAFE_MAX,
  key: (n) => String(n),
  dead: (n) => n < 0 || n > SAFE_MAX,
  // One unsafe character stands for all of them.
  names: ['/'],
};
/** Most string cells a multi-valued claim may have: its lists are every subset of them. */
export const MAX_SET_CELLS = 10;

function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [[]];
  for (const item of items) for (const s of [...out]) out.push([...s, item]);
  return out;
}

/** Options of {@link claimValues}. */
export interface ClaimOptions {
  readonly claim: string;
  readonly uses: readonly ConditionUse[];
  /**
   * Whether policies substitute it as a variable: `everywhere` (every
   * configuration: a value ERR_CLAIM_VARIABLE_UNSAFE refuses is refused in
   * all, so only safe values are built), `somewhere` (one configuration
   * refuses what another decides: safe and unsafe values are kept apart) or
   * `nowhere`.
   */
  readonly variable: 'everywhere' | 'somewhere' | 'nowhere';
  readonly issuers: readonly IssuerConfig[];
}

/**
 * The values of one claim: absent, one string per cell and, except for
 * `sub` (always one string), every list of those strings, since a token may
 * carry a list where a policy expects one value.
 */
export function claimValues(options: ClaimOptions): ClaimValue[] {
  const { claim, uses } = options;
  const variable = options.variable !== 'nowhere';
  const safeOnly = options.variable === 'everywhere';
  for (const use of uses) {
    if (use.values.some((v) => v.kind === 'template')) {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `policy variable compared with claim ${use.key}`,
        use.place,
      );
    }
  }
  if (
    variable &&
    options.issuers.some((i) => Object.keys(i.claimPatterns).some((c) => c.toLowerCase() === claim))
  ) {
    throw new ProveUnknown(
      'ERR_DIFF_UNKNOWN',
      `claimPatterns for claim ${claim}, which a policy substitutes`,
    );
  }
  const predicates = stringPredicates(uses, () => undefined);
  if (options.variable === 'somewhere')
    predicates.push({ predicate: SAFE_CLAIM, label: 'safe to substitute' });
  const reps = stringReps(predicates, {
    // A claim is any JSON string; one every configuration substitutes, only what the default pattern admits.
    allowed: safeOnly ? (c: string) => SAFE_CLAIM_CHAR.test(c) : () => true,
    required: claim === 'sub' || safeOnly ? [NON_EMPTY] : [],
    separateEmpty: true,
    what: `claim ${claim}`,
  });
  const scalars: ClaimValue[] = reps.map((r) => ({ value: r.text, label: r.label }));
  if (claim === 'sub') return scalars;
  const twins = reps.filter((r) => r.nullOnly === true);
  const members = reps.filter((r) => r.nullOnly !== true);
  if (members.length > MAX_SET_CELLS) {
    throw new ProveUnknown(
      'ERR_DIFF_UNKNOWN',
      `claim ${claim} has ${members.length} cells; lists of them are bounded at ${MAX_SET_CELLS}`,
    );
  }
  const lists = [...subsets(members), ...twins.map((t) => [t])].map((s) => ({
    value: s.map((r) => r.text),
    label: `list [${s.map((r) => r.label).join(', ')}]`,
  }));
  return [{ value: undefined, label: 'absent' }, ...scalars, ...lists];
}

/** Header values: absent or one per cell; `extra` are constants the pipeline compares (a role name). */
export function headerValues(
  name: string,
  uses: readonly ConditionUse[],
  vars: VariableValue,
  extra: readonly string[],
): StringRep[] {
  const preds: LabelledPredicate[] = stringPredicates(uses, vars);
  for (const text of extra)
    preds.push({
      predicate: tokenPredicate(literalTokens(text)),
      label: `= ${JSON.stringify(text)}`,
    });
  const reps = stringReps(preds, { what: `header ${name}` });
  return [{ text: '\u0000absent', label: 'absent' }, ...reps];
}

/** The marker of an absent header among {@link headerValues}. */
export const ABSENT = '\u0000absent';

/**
 * Host names as the edge leaves them (lower case, dot-separated labels of
 * letters, digits, `_` and inner `-`): the hosts a request can carry,
 * besides IPv6 literals and ports, which a condition may then not name.
 */
const HOST_NAME: Predicate<string> = {
  init: 'start',
  step: (s, c) => {
    if (s === 'dead') return s;
    if (/^[a-z0-9_]$/.test(c)) return 'label';
    if (c === '-') return s === 'label' || s === 'hyphen' ? 'hyphen' : 'dead';
    if (c === '.') return s === 'label' ? 'dot' : 'dead';
    return 'dead';
  },
  accept: (s) => s === 'label',
  key: (s) => s,
  dead: (s) => s === 'dead',
  names: ['-', '.'],
};

/** Host names: one per cell of the hosts a request can carry. */
export function hostValues(uses: readonly ConditionUse[], vars: VariableValue): StringRep[] {
  if (uses.length === 0) return [{ text: 'localhost', label: 'any host' }];
  for (const u of uses) {
    if (u.values.some((v) => v.kind === 'text' && /[:[\]]/.test(v.text))) {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        'a host condition naming a port or an IPv6 literal',
        u.place,
      );
    }
  }
  return stringReps(stringPredicates(uses, vars), {
    allowed: (c) => /^[a-z0-9_.-]$/.test(c),
    required: [HOST_NAME],
    what: 'http:host',
  });
}

function uses(family: string, list: readonly ConditionUse[], what: string): ConditionUse[] {
  for (const u of list) {
    if (u.op.base.family !== family && u.op.base.family !== 'null') {
      throw new ProveUnknown('ERR_DIFF_UNKNOWN', `operator ${u.op.written} on ${what}`, u.place);
    }
  }
  return list.filter((u) => u.op.base.family === family);
}

/** Source addresses: absent, and one address per elementary interval the CIDR blocks cut. */
export function sourceIpValues(list: readonly ConditionUse[]): (string | undefined)[] {
  const ip = uses('ip', list, 'aws:SourceIp');
  if (list.length === 0) return [undefined];
  // Every elementary interval between block bounds starts at 0, at a block's first address or
  // just after a block's last; IPv6 also takes the address before each block (`::` is no request address).
  const starts: Record<4 | 6, Set<bigint>> = { 4: new Set([0n]), 6: new Set([0x20010db8n << 96n]) };
  for (const u of ip) {
    for (const v of u.values) {
      const cidr = v.kind === 'text' ? parseCidr(v.text) : undefined;
      if (cidr === undefined)
        throw new ProveUnknown('ERR_DIFF_UNKNOWN', 'an address that is not a CIDR block', u.place);
      const width = cidr.family === 4 ? 32 : 128;
      const value =
        cidr.family === 4
          ? BigInt(cidr.w[3] >>> 0)
          : cidr.w.reduce((a, w) => (a << 32n) | BigInt(w >>> 0), 0n);
      const size = 1n << BigInt(width - cidr.bits);
      const lo = (value / size) * size;
      const bounds = cidr.family === 4 ? [lo, lo + size] : [lo - 1n, lo, lo + size];
      for (const n of bounds) if (n >= 0n && n < 1n << BigInt(width)) starts[cidr.family].add(n);
    }
  }
  const out: (string | undefined)[] = [undefined];
  for (const n of starts[4]) out.push(v4Text(n));
  for (const n of starts[6]) {
    // IPv4 text hidden in IPv6 is refused or read as IPv4 at the edge: such a cell holds no request address.
    const text = canonicalIp(v6Text(n));
    if (text === undefined || !text.includes(':')) {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `IPv6 address ${v6Text(n)} bounds a CIDR cell but is not a request address`,
      );
    }
    out.push(text);
  }
  return out;
}

function v4Text(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
}

function v6Text(n: bigint): string {
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

/**
 * Times (epoch ms): every date bound `e` (ms) of `aws:CurrentTime` and
 * `aws:EpochTime` gives `e - 1`, `e`, `e + 1`, which meet every interval
 * between two bounds; an `aws:EpochTime` bound `c` (seconds, compared with
 * the floor of the time) gives the bounds of the seconds around it.
 */
export function timeValues(
  current: readonly ConditionUse[],
  epoch: readonly ConditionUse[],
  nowMs: number,
): number[] {
  const dates = uses('date', current, 'aws:CurrentTime');
  const nums = uses('numeric', epoch, 'aws:EpochTime');
  const bounds = new Set<number>();
  for (const u of dates) {
    for (const v of u.values) {
      const d = v.kind === 'text' ? parseDate(v.text) : undefined;
      if (d === undefined)
        throw new ProveUnknown('ERR_DIFF_UNKNOWN', 'a date bound that is not a date', u.place);
      bounds.add(d);
    }
  }
  for (const u of nums) {
    for (const v of u.values) {
      const c = v.kind === 'text' ? parseNumber(v.text) : undefined;
      if (c === undefined)
        throw new ProveUnknown('ERR_DIFF_UNKNOWN', 'an epoch bound that is not a number', u.place);
      for (const s of [Math.floor(c), Math.ceil(c), Math.floor(c) + 1]) bounds.add(s * 1000);
    }
  }
  if (bounds.size === 0) return [nowMs];
  const out = new Set<number>();
  for (const b of bounds) for (const t of [b - 1, b, b + 1]) if (t >= 0 && t <= 8.64e15) out.add(t);
  return [...out].sort((a, b) => a - b);
}

/** True for a claim whose value is substituted into `${...}`. */
export function variableClaims(
  all: readonly ConditionUse[],
  issuers: readonly IssuerConfig[],
): Set<string> {
  const out = new Set<string>();
  for (const u of all) {
    for (const v of u.values) {
      if (v.kind !== 'template') continue;
      for (const p of v.parts) {
        if (p.t !== 'var') continue;
        const dim = keyDim(p.key, issuers);
        if (dim?.kind !== 'claim') {
          throw new ProveUnknown('ERR_DIFF_UNKNOWN', `policy variable \${${p.key}}`, u.place);
        }
        out.add(dim.claim);
      }
    }
  }
  return out;
}
