// The Node version check bin/rolegate.js runs before it imports anything a
// newer Node provides (node:sqlite, for one): on an unsupported Node every
// command would otherwise die with ERR_UNKNOWN_BUILTIN_MODULE and a stack
// trace. Plain JavaScript that any Node still running ES modules can load.
import { readFileSync } from 'node:fs';

/** The lowest version a `>=X[.Y[.Z]]` range admits, as numbers; undefined for any other form of range. */
export function lowestVersion(range) {
  const match = /^\s*>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(range);
  return match ? match[1].split('.').map(Number) : undefined;
}

/** True when dotted `version` is at least `lowest` (missing parts count as 0). */
function atLeast(version, lowest) {
  const parts = version.replace(/^v/, '').split(/[.+-]/).map(Number);
  for (let i = 0; i < lowest.length; i++) {
    const have = Number.isFinite(parts[i]) ? parts[i] : 0;
    if (have !== lowest[i]) return have > lowest[i];
  }
  return true;
}

/**
 * The one line that refuses an unsupported Node, or undefined when
 * `version` satisfies `range` (package.json `engines.node`). A range this
 * check cannot read (not `>=X[.Y[.Z]]`) refuses nothing: Node decides.
 */
export function unsupportedNode(range, version, execPath) {
  const lowest = lowestVersion(range);
  if (lowest === undefined || atLeast(version, lowest)) return undefined;
  return `rolegate needs Node >= ${lowest.join('.')}; this is Node ${version.replace(/^v/, '')} (${execPath}). See README "Supported".`;
}

/** `engines.node` of the package.json next to bin/, or '' when it cannot be read. */
export function enginesNode(packageJsonUrl) {
  try {
    const engines = JSON.parse(readFileSync(packageJsonUrl, 'utf8')).engines;
    return typeof engines?.node === 'string' ? engines.node : '';
  } catch {
    // No readable package.json (a trimmed image): nothing to check against.
    return '';
  }
}
