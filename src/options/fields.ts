/**
 * Building blocks every module's options schema is made of, and the one
 * place zod's issues become rolegate's {@link ConfigProblem}s: a JSON path
 * (`$.issuers[0].keys.maxWaitMs`) and a message in the words the rest of
 * rolegate uses ("must be an integer from 0 to 5000", "is required",
 * "unknown field; expected one of: ..."). A leaf: imports nothing of ours.
 */
import { z } from 'zod';

/** One problem in a configuration file. */
export interface ConfigProblem {
  /** JSON path, e.g. `$.roles[2].trustPolicy.Statement[0]`. */
  readonly path: string;
  readonly message: string;
}

/** Appends a property name to a JSON path, quoting names that are not identifiers. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)
    ? `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An error message function: `is required` for a missing value, else `message`. */
export const required = (message: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? 'is required' : message;

const NON_EMPTY = 'must be a non-empty string';

/**
 * A non-empty string. An empty one is reported once: {@link problemsOf}
 * drops the format problems (URL, pattern) found at the same path.
 */
export const text = () => z.string({ error: required(NON_EMPTY) }).min(1, { error: NON_EMPTY });

/** A non-empty string that must parse as a URL. */
export const url = () => text().refine((s) => URL.canParse(s), { error: 'must be a URL' });

/** An integer from `min` to `max`, both included. */
export const int = (min: number, max: number) => {
  const error = `must be an integer from ${min} to ${max}`;
  return z
    .number({ error: required(error) })
    .int({ error })
    .min(min, { error })
    .max(max, { error });
};

/** A number from 0 to 1. */
export const fraction = () => {
  const error = 'must be a number from 0 to 1';
  return z
    .number({ error: required(error) })
    .min(0, { error })
    .max(1, { error });
};

export const bool = () => z.boolean({ error: required('must be true or false') });

/** One of a few strings. */
export const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  z.enum(options, { error: required(`must be one of: ${options.join(', ')}`) });

/** A string or a list of strings, normalised to a list. */
export const stringList = () =>
  z.union([text().transform((s) => [s]), z.array(text())], {
    error: required('must be a string or a list of strings'),
  });

/** A list whose items are `item`. */
export const list = <T extends z.ZodType>(item: T) =>
  z.array(item, { error: required('must be a list') });

/** A mapping with exactly the fields of `shape`: an unknown field (a typo) is a problem. */
export const fields = <S extends z.ZodRawShape>(shape: S) => {
  const expected = `unknown field; expected one of: ${Object.keys(shape).join(', ')}`;
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? expected
        : iss.input === undefined
          ? 'is required'
          : 'must be a mapping',
  });
};

/** A mapping of names to non-empty strings. */
export const stringMap = (message = 'must be a mapping') =>
  z.record(z.string(), text(), { error: required(message) });

/**
 * A mapping section whose fields all have defaults: absent, or left empty
 * in YAML (`server:` with every line below it commented out, i.e. null),
 * means `{}`, so each default is written once, on its field.
 */
export const section = <S extends z.ZodRawShape>(shape: S) => {
  const object = fields(shape);
  return z.union([object.prefault({} as never), z.null().transform(() => object.parse({}))], {
    error: required('must be a mapping'),
  });
};

/** Adds a problem at `path` (relative to the value being refined). */
export function problem(
  ctx: z.RefinementCtx,
  path: readonly (string | number)[],
  message: string,
): void {
  ctx.addIssue({ code: 'custom', path: [...path], message });
}

/**
 * Runs a cross-field rule even when a field of the value already has a
 * problem, so one run reports every mistake, as long as the value is a
 * mapping or a list; the rule must read its fields defensively.
 */
export const always = {
  when: (payload: { value: unknown }) =>
    typeof payload.value === 'object' && payload.value !== null,
} as const;

type Issue = z.core.$ZodIssue;

function pathOf(base: readonly PropertyKey[], rel: readonly PropertyKey[]): string {
  let out = '$';
  for (const k of [...base, ...rel]) out = childPath(out, typeof k === 'number' ? k : String(k));
  return out;
}

/** True when `issues` say the value itself has the wrong type (not a problem inside it). */
function wrongType(issues: readonly Issue[]): boolean {
  return issues.some(
    (i) =>
      i.path.length === 0 &&
      (i.code === 'invalid_type' || (i.code === 'invalid_union' && i.errors.every(wrongType))),
  );
}

function collect(issues: readonly Issue[], base: readonly PropertyKey[], out: ConfigProblem[]) {
  for (const iss of issues) {
    const at = [...base, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: pathOf(at, [key]), message: iss.message });
    } else if (iss.code === 'invalid_union') {
      // A value of the right type for one branch: that branch's own problems
      // are the precise ones. Otherwise the union's message says what fits.
      const fitting = iss.errors.find((branch) => branch.length > 0 && !wrongType(branch));
      if (fitting) collect(fitting, at, out);
      else out.push({ path: pathOf(at, []), message: iss.message });
    } else {
      out.push({ path: pathOf(at, []), message: iss.message });
    }
  }
}

/**
 * Turns zod's issues into problems with JSON paths, each (path, message)
 * once; an empty string's format problems are left out.
 */
export function problemsOf(error: z.ZodError): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  collect(error.issues, [], out);
  const empty = new Set(out.filter((p) => p.message === NON_EMPTY).map((p) => p.path));
  const seen = new Set<string>();
  return out.filter((p) => {
    if (empty.has(p.path) && p.message !== NON_EMPTY) return false;
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
