import { createRequire } from 'node:module';

/** The bridge's version, from its package.json (shipped beside dist/ in the image too). */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** When this process started, for the console's uptime. */
export const STARTED_AT = Date.now();
