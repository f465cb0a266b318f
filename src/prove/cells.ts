/**
 * The cells of a space: every combination of one representative per
 * dimension, as a concrete request (the witness a finding prints). Claims
 * come first, so a header compared with `${jwt:sub}` gets the values that
 * equal this cell's subject and those that do not.
 */
import { requestContextResolver } from '../check/context.js';
import { principalFromClaims } from '../identity/jwt.js';
import type { IssuerConfig } from '../identity/options.js';
import type { Principal } from '../identity/principal.js';
import type { AuthzRequest } from '../request/types.js';
import { ABSENT, headerValues, hostValues } from './dims.js';
import type { Space } from './space.js';
import type { StringRep, VariableValue } from './strings.js';

/** One concrete request: what `rolegate simulate --config FILE` reads as a JSON line. */
export interface Witness {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sourceIp?: string;
  readonly secure: boolean;
  /** ISO 8601. */
  readonly time: string;
}

/** A claims cell: one issuer and one value per claim dimension. */
export interface ClaimsCell {
  readonly issuer: IssuerConfig;
  readonly claims: Readonly<Record<string, unknown>>;
  /** Dimension name -> description of this cell's value. */
  readonly labels: Readonly<Record<string, string>>;
  /** Reads a policy variable as the engine would for this caller. */
  readonly vars: VariableValue;
  /** The caller as identity makes it from the claims. */
  readonly principal: Principal;
}

/** A full cell: a witness and the description of each of its values. */
export interface Cell {
  readonly witness: Witness;
  readonly labels: Readonly<Record<string, string>>;
}

const PROBE: AuthzRequest = {
  requestId: '',
  method: 'GET',
  path: '/',
  query: new Map(),
  host: '',
  headers: {},
  secure: false,
  contextExtensions: {},
};

function baseClaims(issuer: IssuerConfig, claimDims: ReadonlySet<string>): Record<string, unknown> {
  const claims: Record<string, unknown> = { iss: issuer.issuer };
  // A real token carries one of the issuer's audiences; the verifier refuses any other.
  if (!claimDims.has('aud')) claims['aud'] = issuer.audiences[0];
  for (const [name, allowed] of Object.entries(issuer.requiredClaims))
    claims[name] = allowed?.[0] ?? 'x';
  return claims;
}

function audienceOk(issuer: IssuerConfig, aud: unknown): boolean {
  const list = Array.isArray(aud) ? aud : [aud];
  return list.some((a) => typeof a === 'string' && issuer.audiences.includes(a));
}

/** The request context of a caller, before any request: what a trust policy reads of claims. */
export function callerResolver(principal: Principal): ReturnType<typeof requestContextResolver> {
  return requestContextResolver(PROBE, principal, undefined, 0);
}

function callerOf(
  claims: Readonly<Record<string, unknown>>,
  issuer: IssuerConfig,
): { principal: Principal; vars: VariableValue } | undefined {
  let principal: Principal;
  try {
    principal = principalFromClaims(claims, issuer);
  } catch {
    // Identity refuses this caller in every configuration with these issuers.
    return undefined;
  }
  const resolve = callerResolver(principal);
  const vars: VariableValue = (key) => {
    const v = resolve(key);
    if (Array.isArray(v)) return v.length === 1 ? String(v[0]) : undefined;
    return v === undefined ? undefined : String(v);
  };
  return { principal, vars };
}

/** Every claims cell of `space` that identity accepts. */
export function claimsCells(space: Space): ClaimsCell[] {
  const out: ClaimsCell[] = [];
  const dims = new Set(space.claims.map((d) => d.claim));
  for (const issuer of space.issuers) {
    const base = baseClaims(issuer, dims);
    odometer(
      space.claims.map((d) => d.values),
      (picked) => {
        const claims: Record<string, unknown> = { ...base };
        const labels: Record<string, string> = {};
        picked.forEach((v, i) => {
          const name = space.claims[i]?.claim ?? '';
          if (v.value !== undefined) claims[name] = v.value;
          labels[`claim ${name}`] = v.label;
        });
        if (dims.has('aud') && !audienceOk(issuer, claims['aud'])) return;
        const caller = callerOf(claims, issuer);
        if (caller !== undefined) out.push({ issuer, claims, labels, ...caller });
      },
    );
  }
  return out;
}

/** Calls `fn` with every combination of one element per list. */
export function odometer<T>(
  lists: readonly (readonly T[])[],
  fn: (picked: readonly T[]) => void,
): void {
  if (lists.some((l) => l.length === 0)) return;
  const idx = lists.map(() => 0);
  for (;;) {
    fn(idx.map((i, d) => (lists[d] as readonly T[])[i] as T));
    let d = lists.length - 1;
    while (d >= 0) {
      idx[d] = (idx[d] ?? 0) + 1;
      if ((idx[d] ?? 0) < (lists[d] as readonly T[]).length) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** A method and path some route of either configuration matches. */
export interface Target {
  readonly method: string;
  readonly path: string;
}

type Axis = readonly {
  readonly label: string;
  readonly set: (w: Record<string, unknown>, h: Record<string, string>) => void;
}[];

function headerAxis(name: string, reps: readonly StringRep[]): Axis {
  return reps.map((r) => ({
    label: r.label,
    set: (_w, h) => {
      if (r.text !== ABSENT) h[name] = r.text;
    },
  }));
}

/** The request axes of one claims cell (headers read its variables). */
function requestAxes(
  space: Space,
  cell: ClaimsCell,
  targets: readonly Target[],
): { names: string[]; axes: Axis[] } {
  const names = ['route'];
  const axes: Axis[] = [
    targets.map((t) => ({ label: `${t.method} ${t.path}`, set: (w) => Object.assign(w, t) })),
  ];
  for (const h of space.headers) {
    names.push(`header ${h.name}`);
    axes.push(headerAxis(h.name, headerValues(h.name, h.uses, cell.vars, h.extra)));
  }
  names.push('host');
  axes.push(
    hostValues(space.hostUses, cell.vars).map((r) => ({
      label: r.label,
      set: (w) => (w['host'] = r.text),
    })),
  );
  names.push('source address', 'TLS', 'time');
  axes.push(
    space.sourceIps.map((ip) => ({
      label: ip ?? 'none',
      set: (w) => ip !== undefined && (w['sourceIp'] = ip),
    })),
  );
  axes.push(space.secure.map((s) => ({ label: String(s), set: (w) => (w['secure'] = s) })));
  axes.push(
    space.times.map((t) => ({
      label: new Date(t).toISOString(),
      set: (w) => (w['time'] = new Date(t).toISOString()),
    })),
  );
  return { names, axes };
}

/** Calls `fn` with every full cell of one claims cell; returns how many there were. */
export function forEachCell(
  space: Space,
  cell: ClaimsCell,
  targets: readonly Target[],
  fn: (c: Cell) => void,
): number {
  const { names, axes } = requestAxes(space, cell, targets);
  let count = 0;
  odometer(axes, (picked) => {
    const w: Record<string, unknown> = { claims: cell.claims };
    const headers: Record<string, string> = {};
    const labels: Record<string, string> = { ...cell.labels };
    picked.forEach((v, i) => {
      v.set(w, headers);
      labels[names[i] ?? ''] = v.label;
    });
    w['headers'] = headers;
    count++;
    fn({ witness: w as unknown as Witness, labels });
  });
  return count;
}

/** How many full cells one claims cell has (for the bound on the work). */
export function cellCount(space: Space, cell: ClaimsCell, targets: readonly Target[]): number {
  return requestAxes(space, cell, targets).axes.reduce((n, a) => n * a.length, 1);
}
