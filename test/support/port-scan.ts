/**
 * A static scan of test sources for fixed listen ports: a literal non-zero
 * port given to a listener (`.listen(9003)`), put into a rolegate or peer
 * config (`port: 9003`, `httpPort: 9003`, `PORT: '8081'`, `port_value: 8080`,
 * also inside YAML text), passed as a listen flag (`--port 9090`,
 * `--web.listen-address=127.0.0.1:9090`), or a listener started on its fixed
 * default (`startDevIssuer()`, `--dev-issuer`: 127.0.0.1:9100). Tests bind
 * port 0 or a port picked free at run time instead (test/harness/ports.ts).
 *
 * Comments are not scanned. The scan is textual: where a literal is data (a
 * config-parsing test, a decoded address), the caller allows it explicitly.
 */

/** One fixed port found in a file. */
export interface FixedPort {
  /** The file, as given to {@link scanForFixedPorts}. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** The port, or 0 for a listener started on its default (`startDevIssuer()`). */
  readonly port: number;
  /** Which kind of use it is. */
  readonly rule: string;
  /** The source line, trimmed. */
  readonly text: string;
}

/**
 * A literal that is data, not a listener: in `file`, the number `value` on a
 * line that also holds `key` (the field or text naming it).
 */
export interface AllowedPort {
  readonly file: string;
  readonly key: string;
  readonly value: number;
  /** Why the number is data (shown nowhere; it is for the reader of the allowlist). */
  readonly why: string;
}

interface Rule {
  readonly name: string;
  /** Group 1, when present, is the port. */
  readonly pattern: RegExp;
}

const RULES: readonly Rule[] = [
  {
    name: 'listen call on a fixed port',
    pattern: /\.listen\(\s*['"]?([1-9]\d{0,4})\b/g,
  },
  {
    name: 'fixed port in a config',
    // `port: 9003`, `httpPort = 9003`, `port_value: 8080`, `PORT: '8081'`, `PORT=8081`.
    pattern:
      /(?<![\w$])(?:port|port_value|PORT|[a-z][A-Za-z]*Port)['"]?\s*[:=]\s*['"]?([1-9]\d{0,4})\b/g,
  },
  {
    name: 'listen flag with a fixed port',
    // `--port 9090`, `--port=9090`, `'--port', '9090'`, `--web.listen-address=127.0.0.1:9090`.
    pattern:
      /--[\w.-]*(?:port|listen-address|listen)(?:[= ]|['"],\s*)['"]?(?:[\w.[\]-]*:)?([1-9]\d{0,4})(?![\d.])/g,
  },
  {
    name: 'listener started on its fixed default port',
    pattern: /\bstartDevIssuer\(\s*\)|['"]--dev-issuer['"]/g,
  },
];

/** Where a `/` starts a regular expression literal rather than a division. */
function regexMayStart(before: string): boolean {
  const code = before.trimEnd();
  return code === '' || /[(,=:[!&|?{};+\-*%<>~^]$/.test(code) || /\b(?:return|typeof)$/.test(code);
}

/** The index just past the regular expression literal starting at `start` (its flags included). */
function regexEnd(text: string, start: number): number {
  let inClass = false;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '\n') return i;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      let end = i + 1;
      while (/[a-z]/.test(text[end] ?? '')) end++;
      return end;
    }
  }
  return text.length;
}

/**
 * `text` with every comment replaced by spaces (line breaks kept, so line
 * numbers hold). Strings, template literals and regular expression literals
 * are kept as they are (a quote inside a regex starts no string).
 */
export function withoutComments(text: string): string {
  let out = '';
  let i = 0;
  let quote: string | undefined;
  while (i < text.length) {
    const c = text[i] ?? '';
    const next = text[i + 1] ?? '';
    if (quote !== undefined) {
      out += c;
      if (c === '\\') {
        out += next;
        i += 2;
        continue;
      }
      if (c === quote) quote = undefined;
      i++;
    } else if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '/' && regexMayStart(out)) {
      const stop = regexEnd(text, i);
      out += text.slice(i, stop);
      i = stop;
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

/** Every fixed port {@link RULES} find in `text` (the source of `file`), in line order. */
export function scanForFixedPorts(file: string, text: string): FixedPort[] {
  const code = withoutComments(text);
  const lines = text.split('\n');
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const lineOf = (index: number): number => {
    let line = 0;
    while (line + 1 < lineStarts.length && (lineStarts[line + 1] ?? Infinity) <= index) line++;
    return line + 1;
  };
  const found: FixedPort[] = [];
  for (const rule of RULES) {
    for (const m of code.matchAll(rule.pattern)) {
      const port = m[1] === undefined ? 0 : Number(m[1]);
      // Above 65535 it cannot be bound: a validation test's bad value.
      if (port > 65_535) continue;
      const line = lineOf(m.index);
      found.push({ file, line, port, rule: rule.name, text: (lines[line - 1] ?? '').trim() });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/** Whether `entry` exempts `finding`: same file and port, and the line holds the entry's key. */
export function allows(entry: AllowedPort, finding: FixedPort): boolean {
  return (
    entry.file === finding.file && entry.value === finding.port && finding.text.includes(entry.key)
  );
}

/** The findings no entry of `allowed` exempts. */
export function notAllowed(
  found: readonly FixedPort[],
  allowed: readonly AllowedPort[],
): FixedPort[] {
  return found.filter((f) => !allowed.some((a) => allows(a, f)));
}

/** One line per finding: `file:line: rule (port N): text`. */
export function formatFindings(found: readonly FixedPort[]): string {
  return found
    .map(
      (f) => `${f.file}:${f.line}: ${f.rule}${f.port === 0 ? '' : ` (port ${f.port})`}: ${f.text}`,
    )
    .join('\n');
}
