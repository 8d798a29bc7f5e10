import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copies the SQLite write-ahead log into the database file from a worker thread.
 *
 * SQLite's own checkpoint runs inside whichever commit crosses 1,000 WAL pages, and with
 * synchronous=NORMAL it fsyncs the log and the database there: on the event loop, that
 * stalled every request for 10-15 ms and added about 40 µs to each write on average. The
 * main connection turns automatic checkpoints off; this thread runs PASSIVE ones (they
 * never block the writer) on its own connection, so fsync waits happen off the loop.
 */
export interface Checkpointer {
  close(): Promise<void>;
}

// CommonJS, evaluated in the worker: better-sqlite3 is resolved by the parent and passed in.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(file: string, intervalMs: number, onError: (message: string) => void): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, intervalMs, module: createRequire(import.meta.url).resolve('better-sqlite3') },
    // A few pages of JavaScript around a native call: keep its heap small.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
  });
  worker.on('message', (m: { error?: string }) => m.error && onError(m.error));
  worker.on('error', (err) => onError(err.message));
  // The process may exit while it waits for the next round.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async close() {
      worker.postMessage('close');
      await exited;
    },
  };
}
