// Types of node-check.js (plain JavaScript, so any Node can load it), for its tests.

/** The lowest version a `>=X[.Y[.Z]]` range admits, as numbers; undefined for any other form of range. */
export function lowestVersion(range: string): number[] | undefined;

/** The one line that refuses an unsupported Node, or undefined when `version` satisfies `range`. */
export function unsupportedNode(
  range: string,
  version: string,
  execPath: string,
): string | undefined;

/** `engines.node` of a package.json, or '' when it cannot be read. */
export function enginesNode(packageJsonUrl: URL): string;
