/**
 * Backstage entity references (`kind:namespace/name`), read the way
 * Backstage reads them: the kind and the namespace may be left out and take
 * a default (the namespace `default`; the kind depends on where the ref is
 * written: `component` for a route's `entity`, `group` for `spec.owner`),
 * and refs compare without regard to case, so the normal form is lower-case.
 */

/** The namespace Backstage gives an entity that names none. */
export const DEFAULT_NAMESPACE = 'default';

/** Backstage's kind rule: a letter, then letters and digits. */
const KIND = /^[a-zA-Z][a-zA-Z0-9]{0,62}$/;
/**
 * Backstage's name rule (its `isValidObjectName`): starts and ends with a
 * letter or digit, letters, digits, `-`, `_` and `.` between, at most 63.
 */
const NAME = /^[a-zA-Z0-9](?:[-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
/**
 * Backstage's namespace rule (a DNS label, its `isValidDnsLabel`): letters
 * and digits joined by runs of `-`, at most 63. Backstage stores it
 * lower-case; a ref may spell it in any case, as refs compare without case.
 */
const NAMESPACE = /^[a-zA-Z0-9]+(?:-+[a-zA-Z0-9]+)*$/;

/** A refused value as messages show it: JSON-quoted, at most 80 characters of it. */
const shownPart = (value: string) =>
  JSON.stringify(value.slice(0, 80)) + (value.length > 80 ? '...' : '');

/** One parsed reference, lower-cased. */
export interface EntityRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Defaults for the parts a ref leaves out. */
export interface RefDefaults {
  /** The kind when the ref has none (`component` for routes, `group` for owners). */
  readonly kind: string;
  /** The namespace when the ref has none. Default `default`. */
  readonly namespace?: string;
}

/**
 * Parses `[kind:][namespace/]name`; the error text says what is wrong (for
 * config problems), never echoing more than the ref itself.
 */
export function parseEntityRef(
  text: string,
  defaults: RefDefaults,
): { ok: true; ref: EntityRef } | { ok: false; message: string } {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? defaults.kind : text.slice(0, colon);
  const rest = colon < 0 ? text : text.slice(colon + 1);
  const slash = rest.indexOf('/');
  const namespace = slash < 0 ? (defaults.namespace ?? DEFAULT_NAMESPACE) : rest.slice(0, slash);
  const name = slash < 0 ? rest : rest.slice(slash + 1);
  if (!KIND.test(kind)) {
    return { ok: false, message: `kind ${shownPart(kind)} is not a Backstage kind` };
  }
  if (namespace.length > 63 || !NAMESPACE.test(namespace)) {
    return {
      ok: false,
      message: `namespace ${shownPart(namespace)} is not a Backstage namespace (letters and digits, and - between them, at most 63)`,
    };
  }
  if (name.length > 63 || !NAME.test(name)) {
    return {
      ok: false,
      message: `name ${shownPart(name)} is not a Backstage name (letters, digits, and - _ . between them, at most 63)`,
    };
  }
  return {
    ok: true,
    ref: { kind: kind.toLowerCase(), namespace: namespace.toLowerCase(), name: name.toLowerCase() },
  };
}

/** `kind:namespace/name`, the normal form rolegate stores and compares. */
export function formatEntityRef(ref: EntityRef): string {
  return `${ref.kind}:${ref.namespace}/${ref.name}`;
}

/** The normal form of `text`, or undefined when it is not a ref. */
export function normaliseEntityRef(text: string, defaults: RefDefaults): string | undefined {
  const parsed = parseEntityRef(text, defaults);
  return parsed.ok ? formatEntityRef(parsed.ref) : undefined;
}

/** The default kind of a route's `entity`: Backstage's software components. */
export const ROUTE_ENTITY_KIND = 'component';

/** The default kind of `spec.owner`, as Backstage's catalog reads it. */
export const OWNER_KIND = 'group';
