/**
 * A jest transform for the images Backstage's frontend packages import
 * (`import image from './x.svg'`, which their bundler turns into a URL):
 * under jest each becomes a module whose value is the file's name, which is
 * all a rendered `<img src>` needs in a DOM without a network.
 */
import { basename } from 'node:path';

export default {
  process(_source, filename) {
    return { code: `module.exports = ${JSON.stringify(basename(filename))};` };
  },
};
