import type BetterSqlite3 from 'better-sqlite3';

interface Pending {
  fn: () => Promise<unknown>;
  /** Reads need no savepoint: they have nothing to undo. */
  readOnly: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Transactions on SQLite's writing connection, committed in groups.
 *
 * SQLite runs one write transaction at a time, and on a busy bridge each commit (the log
 * write and the file locks around it) cost more than the transaction's own statements.
 * Transactions that queue while one runs are applied one after another inside a single
 * SQLite transaction, each in a savepoint of its own, and committed together: a failing
 * one is rolled back to its savepoint and fails alone, and none is reported done before
 * the commit that makes it durable. On an in-memory database (one connection, no reader)
 * the request path's reads join the same group.
 */
export class GroupCommit {
  private readonly queue: Pending[] = [];
  private draining = false;
  private readonly tx: TxControl;

  /** `raw` is the writing connection; the transactions' statements run on it too. */
  constructor(
    raw: BetterSqlite3.Database,
    /** Runs after each commit, before anyone waiting on it is answered. */
    private readonly afterCommit: () => void = () => {},
    /** Runs after any rollback, of a savepoint or of a whole group. */
    private readonly afterRollback: () => void = () => {},
    private readonly maxBatch = 64,
  ) {
    this.tx = txControl(raw);
  }

  run<T>(fn: () => Promise<T>, readOnly = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, readOnly, resolve: resolve as (v: unknown) => void, reject });
      if (this.draining) return;
      this.draining = true;
      // After this turn's I/O: requests that arrived together are queued by then, and
      // share one commit. (Started at once, each ran alone: SQLite never yields.)
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.batch();
    } catch (err) {
      // The connection is gone (the store is closing): nothing queued can be applied.
      for (const p of this.queue.splice(0)) p.reject(err);
    } finally {
      this.draining = false;
    }
  }

  private async batch(): Promise<void> {
    if (this.queue.length === 1) return this.alone(this.queue.shift()!);
    const applied: [Pending, unknown][] = [];
    try {
      this.tx.begin();
      for (let n = 0; n < this.maxBatch && this.queue.length > 0; n++) {
        const p = this.queue.shift()!;
        if (p.readOnly) {
          await p.fn().then((value) => applied.push([p, value]), p.reject);
          continue;
        }
        this.tx.savepoint();
        let value: unknown;
        try {
          value = await p.fn();
        } catch (err) {
          p.reject(err);
          this.tx.rollbackToSavepoint();
          this.tx.release();
          this.afterRollback();
          continue;
        }
        this.tx.release();
        applied.push([p, value]);
      }
      this.tx.commit();
    } catch (err) {
      this.tx.rollback();
      this.afterRollback();
      for (const [p] of applied) p.reject(err);
      return;
    }
    this.afterCommit();
    for (const [p, value] of applied) p.resolve(value);
  }

  /** Nothing to share with: a read runs as it is, a write in a plain transaction (no savepoint to pay for). */
  private async alone(p: Pending): Promise<void> {
    if (p.readOnly) return p.fn().then(p.resolve, p.reject);
    let value: unknown;
    try {
      this.tx.begin();
      value = await p.fn();
      this.tx.commit();
    } catch (err) {
      this.tx.rollback();
      this.afterRollback();
      return p.reject(err);
    }
    this.afterCommit();
    p.resolve(value);
  }
}

interface TxControl {
  begin(): void;
  commit(): void;
  /** Ends the transaction if one is open; never throws. */
  rollback(): void;
  savepoint(): void;
  release(): void;
  rollbackToSavepoint(): void;
}

/**
 * The statements that open and close transactions and savepoints, prepared once: a
 * group runs two per write. Only the group commit opens transactions on the writer.
 */
function txControl(raw: BetterSqlite3.Database): TxControl {
  const statement = (text: string) => {
    const stmt = raw.prepare(text);
    return () => void stmt.run();
  };
  const rollback = statement('rollback');
  return {
    begin: statement('begin'),
    commit: statement('commit'),
    rollback: () => {
      if (raw.inTransaction) rollback();
    },
    savepoint: statement('savepoint group_commit'),
    release: statement('release group_commit'),
    rollbackToSavepoint: statement('rollback to group_commit'),
  };
}
