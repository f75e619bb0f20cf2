/**
 * The router's version, as `GET /health` and the CLI report it: the package's, read at build time (bundled into
 * each function, so a deployed stack reports the version it was built from).
 */
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
