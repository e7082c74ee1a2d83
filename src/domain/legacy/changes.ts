// What a legacy conversion changed, counted and worded for the operator ("61 timestamps
// to ISO-8601 UTC"), in the order first seen.
export interface ChangeLog {
  /** Counts one more (or `n` more) of a kind of change. */
  tally(what: string, n?: number): void;
  /** Adds names to a kind of change: "read: true -> read_by for build1, build2". */
  name(what: string, names: Iterable<string>): void;
  list(): string[];
}

export const changeLog = (): ChangeLog => {
  const counts = new Map<string, number>();
  const named = new Map<string, Set<string>>();
  const order: string[] = [];
  const see = (what: string) => {
    if (!counts.has(what)) {
      counts.set(what, 0);
      order.push(what);
    }
  };
  return {
    tally: (what, n = 1) => {
      see(what);
      counts.set(what, (counts.get(what) ?? 0) + n);
    },
    name: (what, names) => {
      see(what);
      counts.set(what, (counts.get(what) ?? 0) + 1);
      const set = named.get(what) ?? new Set<string>();
      for (const item of names) set.add(item);
      named.set(what, set);
    },
    list: () =>
      order.map((what) => {
        const names = named.get(what);
        const count = counts.get(what) ?? 0;
        const prefix = count > 1 || !names ? `${count} ` : '';
        return names ? `${prefix}${what} ${[...names].sort().join(', ')}` : `${prefix}${what}`;
      }),
  };
};

export type Json = Record<string, unknown>;

/** JSON text as any JSON (a leading byte-order mark allowed), or undefined when it is not JSON. */
export const parseJsonLoosely = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch {
    return undefined;
  }
};

export const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Moves `from` to `to` when `to` is absent; true when it moved. */
export const rename = (target: Json, from: string, to: string): boolean => {
  if (target[from] === undefined || target[to] !== undefined) return false;
  target[to] = target[from];
  delete target[from];
  return true;
};
