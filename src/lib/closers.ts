/**
 * What a start-up opened, closed in the reverse order: on shutdown, and when a later
 * step fails, so that a failed start leaves no pool, file or timer behind.
 */
export class Closers {
  private readonly stack: (() => Promise<void> | void)[] = [];

  /** Returns `value`, so a step can open and register in one line. */
  push<T>(value: T, close: (value: T) => Promise<void> | void): T {
    this.stack.push(() => close(value));
    return value;
  }

  /** Every closer runs, even after one fails; the first failure is thrown at the end. */
  async closeAll(): Promise<void> {
    let first: unknown;
    while (this.stack.length > 0) {
      try {
        await this.stack.pop()!();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
