/**
 * Polls fn until it returns something truthy, or fails after ms with what it waited for, the
 * last error fn threw, and (if given) what detail() says about the state at that moment.
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000, detail?: () => Promise<string>, everyMs = 150): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}${detail ? `\n${await detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
