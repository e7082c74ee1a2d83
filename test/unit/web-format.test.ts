// The dashboard formats ages, times and plurals with the CLI's own functions: the server
// puts them into the page's script (web/server.ts withSharedFormatting), so they are
// written once and read the same in the terminal and the page.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatAge, formatTime, plural } from '../../src/domain/format.js';
import { withSharedFormatting } from '../../src/web/server.js';
import { REPO_ROOT } from '../helpers/fleet.js';

const appJs = readFileSync(join(REPO_ROOT, 'src', 'web', 'static', 'app.js'), 'utf8');

describe("the dashboard's formatting", () => {
  it('is defined only in domain/format.ts: the page script has no copy of its own', () => {
    for (const name of ['formatAge', 'formatTime', 'plural']) expect(appJs).not.toMatch(new RegExp(`(const|function|let|var) ${name}\\b`));
  });

  it('is put into the script after its strict-mode line, and formats as the CLI does', () => {
    const served = withSharedFormatting(appJs);
    const cut = appJs.indexOf("'use strict';\n") + "'use strict';\n".length;
    expect(served.startsWith(appJs.slice(0, cut))).toBe(true);
    expect(served.endsWith(appJs.slice(cut))).toBe(true);
    const shared = `'use strict';\n${served.slice(cut, served.length - (appJs.length - cut))}`;
    const page = new Function(`${shared}\nreturn { formatAge, formatTime, plural };`)() as { formatAge: typeof formatAge; formatTime: typeof formatTime; plural: typeof plural };
    for (const ms of [-5_000, 0, 999, 59_400, 61_000, 600_000, 3_599_000, 7_260_000, 3 * 86_400_000]) expect(page.formatAge(ms)).toBe(formatAge(ms));
    for (const iso of ['2026-11-29T08:26:06.123Z', 'not a time']) expect(page.formatTime(iso)).toBe(formatTime(iso));
    expect([page.plural(1, 'entry', 'entries'), page.plural(2, 'builder')]).toEqual([plural(1, 'entry', 'entries'), plural(2, 'builder')]);
  });

  it('refuses a script without the strict-mode line to put it after', () => {
    expect(() => withSharedFormatting('const x = 1;\n')).toThrow(/use strict/);
  });
});
