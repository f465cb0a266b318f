/**
 * Where a JSON path points in YAML or JSON source text. Config files and
 * policy files use this one helper, so every finding about a file can carry
 * the line and column of the element it names.
 *
 * JSON is YAML 1.2, so both are read through the `yaml` library's document
 * API, which keeps the source range of every node.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** A 1-based line and column in source text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Positions in one source text. */
export interface SourceMap {
  /**
   * The position of the element `path` (e.g. `$.roles[0].policies.read.Statement[1]`)
   * names: the key of a mapping entry, or the item of a list. When the path
   * goes deeper than the source (a missing element), the deepest existing
   * element on the way; `undefined` for a path that cannot be parsed.
   */
  position(path: string): SourcePosition | undefined;
  /** The position of the first syntax error, if the text has one. */
  readonly syntaxError?: SourcePosition;
}

/**
 * Splits a JSON path as rolegate writes it (`$`, `.name`, `["any key"]`,
 * `[0]`) into keys and indexes; `undefined` when it is not such a path.
 */
export function parseJsonPath(path: string): (string | number)[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const out: (string | number)[] = [];
  let i = 1;
  while (i < path.length) {
    const rest = path.slice(i);
    const ident = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    const index = /^\[(\d+)\]/.exec(rest);
    const quoted = /^\[("(?:[^"\\]|\\.)*")\]/.exec(rest);
    if (ident?.[1] !== undefined) {
      out.push(ident[1]);
      i += ident[0].length;
    } else if (index?.[1] !== undefined) {
      out.push(Number(index[1]));
      i += index[0].length;
    } else if (quoted?.[1] !== undefined) {
      out.push(JSON.parse(quoted[1]) as string);
      i += quoted[0].length;
    } else {
      return undefined;
    }
  }
  return out;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

/** Walks `segments` from the document root; the range start of the deepest node reached. */
function offsetOf(doc: Document, segments: readonly (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0];
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(segment));
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** Reads `text` (YAML or JSON) once and answers positions in it. */
export function sourceMapOf(text: string): SourceMap {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, keepSourceTokens: false });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const first = doc.errors[0]?.linePos?.[0];
  return {
    position(path) {
      const segments = parseJsonPath(path);
      if (segments === undefined) return undefined;
      const offset = offsetOf(doc, segments);
      return offset === undefined ? undefined : at(offset);
    },
    ...(first ? { syntaxError: { line: first.line, column: first.col } } : {}),
  };
}
