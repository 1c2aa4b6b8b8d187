/**
 * A pass that runs one at a time: kick() while one runs asks for exactly one more after it
 * (a burst of kicks makes one extra pass), so a loop driven by watches never runs two passes
 * at once and never misses the last change. The agent's reconcilers use it.
 */
export class SerialPass {
  private current: Promise<void> | undefined;
  private again = false;

  /** `pass` runs the work; `failed` gets what it threw (the pass is retried by the caller's next kick); `stopped` ends the loop. */
  constructor(private readonly pass: () => Promise<void>, private readonly failed: (err: unknown) => void, private readonly stopped: () => boolean) {}

  kick(): void {
    if (this.stopped()) return;
    if (this.current) { this.again = true; return; }
    this.current = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          this.failed(err);
        }
      } while (this.again && !this.stopped());
    })().finally(() => { this.current = undefined; });
  }

  /** True while a pass runs. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Resolves when the pass running now (if any) and the ones it asked for are done. */
  async idle(): Promise<void> {
    await this.current;
  }
}
