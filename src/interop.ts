/**
 * A CommonJS package imported with `import()` from bundled ESM puts its exports on
 * `default`; this returns the exports object either way.
 */
export const commonJsExports = <T extends object>(module: T): T => (module as { default?: T }).default ?? module;
