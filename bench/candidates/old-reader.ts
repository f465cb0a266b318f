/**
 * A small typed reader over untrusted JSON/YAML values that records every
 * problem with its JSON path instead of stopping at the first one, so a
 * config author sees all mistakes in one run.
 */

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

/** Collects problems while reading fields of an object. */
export class Reader {
  readonly problems: ConfigProblem[] = [];

  fail(path: string, message: string): undefined {
    this.problems.push({ path, message });
    return undefined;
  }

  /** Reads an object, reporting unknown keys (typos must not pass silently). */
  object(
    value: unknown,
    path: string,
    allowed: readonly string[],
  ): Record<string, unknown> | undefined {
    if (!isRecord(value)) return this.fail(path, 'must be a mapping');
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.fail(childPath(path, key), `unknown field; expected one of: ${allowed.join(', ')}`);
      }
    }
    return value;
  }

  string(value: unknown, path: string, opts: { required?: boolean } = {}): string | undefined {
    if (value === undefined) {
      return opts.required ? this.fail(path, 'is required') : undefined;
    }
    if (typeof value !== 'string' || value.length === 0) {
      return this.fail(path, 'must be a non-empty string');
    }
    return value;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') return this.fail(path, 'must be true or false');
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.fail(path, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  /** A string or a list of strings, normalised to a list. */
  stringList(
    value: unknown,
    path: string,
    opts: { required?: boolean } = {},
  ): string[] | undefined {
    if (value === undefined) {
      return opts.required ? this.fail(path, 'is required') : undefined;
    }
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list)) return this.fail(path, 'must be a string or a list of strings');
    const out: string[] = [];
    list.forEach((item, i) => {
      const s = this.string(item, childPath(path, i), { required: true });
      if (s !== undefined) out.push(s);
    });
    if (opts.required && out.length === 0 && list.length === 0) {
      return this.fail(path, 'must not be empty');
    }
    return out;
  }

  list(value: unknown, path: string): unknown[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.fail(path, 'must be a list');
    return value;
  }

  oneOf<T extends string>(value: unknown, path: string, options: readonly T[]): T | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
      return this.fail(path, `must be one of: ${options.join(', ')}`);
    }
    return value as T;
  }
}
