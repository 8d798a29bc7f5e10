import { connect } from 'node:net';
import type { Reporter, TestModule } from 'vitest/node';

/** Whether PostgreSQL answers where the suites look for it (TEST_DATABASE_URL, or 127.0.0.1:5432). */
function postgresAnswers(): Promise<{ up: boolean; where: string }> {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const where = `${url.hostname}:${url.port || 5432}`;
  return new Promise((resolve) => {
    const socket = connect(Number(url.port || 5432), url.hostname);
    const done = (up: boolean) => {
      socket.destroy();
      resolve({ up, where });
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Ends the run with the plain line CI reads: "vitest: N passed, N failed, N skipped",
 * and, right above it, whether the PostgreSQL runs were skipped (a local run without
 * PostgreSQL passes on SQLite alone, and should say so where it is read; CI requires it).
 */
export default class SummaryReporter implements Reporter {
  async onTestRunEnd(modules: ReadonlyArray<TestModule>): Promise<void> {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      let failedHere = 0;
      for (const test of m.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A suite whose hook failed skips its tests: that is a failure, not a skip.
      if (m.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    const pg = await postgresAnswers();
    if (!pg.up)
      process.stdout.write(`\nvitest: NOTE PostgreSQL did not answer at ${pg.where}: every PostgreSQL run was skipped; this run checked SQLite only\n`);
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
