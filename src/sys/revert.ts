/**
 * Revert helper (Incus's revert.New()): register an undo after each side effect of a
 * multi-step creation; if the creation fails, run them newest first; on success, `success()`
 * drops them. Undo failures are collected, never hide the original error.
 */
export class Revert {
  private undos: { what: string; fn: () => Promise<void> | void }[] = [];
  readonly failures: { what: string; error: unknown }[] = [];

  add(what: string, fn: () => Promise<void> | void): void {
    this.undos.push({ what, fn });
  }

  success(): void {
    this.undos = [];
  }

  async fail(): Promise<void> {
    const list = this.undos.reverse();
    this.undos = [];
    for (const u of list) {
      try { await u.fn(); } catch (error) { this.failures.push({ what: u.what, error }); }
    }
  }

  /** Runs fn with a Revert; on throw, reverts and rethrows. */
  static async run<T>(fn: (r: Revert) => Promise<T>): Promise<T> {
    const r = new Revert();
    try {
      const v = await fn(r);
      r.success();
      return v;
    } catch (e) {
      await r.fail();
      if (r.failures.length && e instanceof Error) {
        e.message += `\n(cleanup after the failure also failed: ${r.failures.map((f) => `${f.what}: ${f.error instanceof Error ? f.error.message : String(f.error)}`).join('; ')})`;
      }
      throw e;
    }
  }
}
