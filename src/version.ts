declare const __BUILDCTL_VERSION__: string | undefined;

/** The tool's version: package.json's, put in by the build (scripts/build.mjs) and by vitest.config.ts. */
export const VERSION: string = typeof __BUILDCTL_VERSION__ === 'string' ? __BUILDCTL_VERSION__ : '0.0.0-dev';
