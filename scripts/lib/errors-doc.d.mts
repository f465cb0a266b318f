// Types of errors-doc.mjs, for the test that holds docs/errors.md to the catalogue.
import type { ERROR_CATALOGUE, ERROR_HELP, HTTP_STATUS } from '../../src/errors.js';

/** One comment heading of ERROR_CATALOGUE and the codes under it, in order. */
export interface CatalogueFamily {
  readonly title: string;
  readonly codes: string[];
}

/** The families of the catalogue, read from the text of src/errors.ts. */
export function catalogueFamilies(source: string): CatalogueFamily[];

/** docs/errors.md from the text of src/errors.ts and the module itself. */
export function errorsDocMarkdown(
  source: string,
  errors: {
    readonly ERROR_CATALOGUE: typeof ERROR_CATALOGUE;
    readonly HTTP_STATUS: typeof HTTP_STATUS;
    readonly ERROR_HELP: typeof ERROR_HELP;
  },
): string;
