/** Kiln's version; a test keeps it equal to the root package.json. */
export const KILN_VERSION = '0.1.0';
export const USER_AGENT = `kiln/${KILN_VERSION}`;
