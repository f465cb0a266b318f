// docs/errors.md from the error catalogue (src/errors.ts): every code with
// its HTTP status, its cause and its fix, grouped by the family comments of
// ERROR_CATALOGUE. Pure: `scripts/write-errors-doc.mjs` writes the page,
// `test/unit/repo/errors-doc.test.ts` compares it with the committed one.

/** The families of the catalogue, in order: each comment line of ERROR_CATALOGUE and the codes under it. */
export function catalogueFamilies(source) {
  const start = source.indexOf('export const ERROR_CATALOGUE = {');
  const end = source.indexOf('} as const;', start);
  if (start < 0 || end < 0) throw new Error('src/errors.ts: ERROR_CATALOGUE not found');
  const families = [];
  for (const line of source.slice(start, end).split('\n')) {
    const heading = /^\s*\/\/\s*(.+?)\.?\s*$/.exec(line);
    const code = /^\s*((?:ERR|WARN)_[A-Z0-9_]+):/.exec(line);
    if (heading) families.push({ title: heading[1], codes: [] });
    else if (code) {
      // A code above the first comment still gets a family, so it is never dropped.
      if (families.length === 0) families.push({ title: 'Other', codes: [] });
      families[families.length - 1].codes.push(code[1]);
    }
  }
  return families.filter((f) => f.codes.length > 0);
}

/** The HTTP status line of a code's entry in HTTP_STATUS. */
function statusText(entry) {
  if (entry === null) return 'none: never an HTTP answer (load time, CLI, startup or a log line)';
  if (typeof entry === 'number') return `deny ${entry}, access API ${entry}`;
  if (entry.deny === undefined) return `access API ${entry.api} (no check denies with it)`;
  return `deny ${entry.deny}, access API ${entry.api}`;
}

/** A catalogue sentence as markdown: capitalised, and `*` escaped (it would start emphasis in `X-Original-*`). */
const plain = (text) =>
  text.charAt(0).toUpperCase() + text.slice(1).replace(/[*_\\`]/g, (c) => `\\${c}`);

/** The anchor GitHub gives a `### CODE` heading: the lower-cased code. */
const anchor = (code) => code.toLowerCase();

/**
 * The page. `source` is the text of src/errors.ts (its comments group the
 * codes); `errors` the module itself (ERROR_CATALOGUE, HTTP_STATUS, ERROR_HELP).
 */
export function errorsDocMarkdown(source, errors) {
  const { ERROR_CATALOGUE, HTTP_STATUS, ERROR_HELP } = errors;
  const families = catalogueFamilies(source);
  const out = [
    '# Error codes',
    '',
    '<!-- Generated from src/errors.ts by `npm run errors-doc`; do not edit by hand (test/unit/repo/errors-doc.test.ts fails when this page is stale). -->',
    '',
    'Every failure rolegate reports carries one stable code from its catalogue (`src/errors.ts`): the `reason` of an audit record and of the `rolegate_check_total` metric, the `error` of an access API answer, the code of a CLI error line. Codes are never renamed. Each entry below says what the code means, its HTTP status, what causes it and what fixes it; its anchor is the lower-cased code, which refusal log lines carry as `help` (`docs/errors.md#err_no_role`).',
    '',
    'HTTP status: **deny** is the status a check answers Envoy or the proxy with (400 for a request that cannot be read, 401 for a credential, 403 for everything else, fail closed); **access API** is the status the access API and its approvals page answer a refused or failed call with.',
    '',
  ];
  for (const family of families) {
    out.push(`- ${family.title}: ${family.codes.map((c) => `[${c}](#${anchor(c)})`).join(', ')}`);
  }
  for (const family of families) {
    out.push('', `## ${family.title}`);
    for (const code of family.codes) {
      const help = ERROR_HELP[code];
      out.push(
        '',
        `### ${code}`,
        '',
        `${plain(ERROR_CATALOGUE[code])}.`,
        '',
        `- **HTTP status:** ${statusText(HTTP_STATUS[code])}.`,
        `- **Cause:** ${help.cause}`,
        `- **Fix:** ${help.fix}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
