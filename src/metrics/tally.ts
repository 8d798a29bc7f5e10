import type { Counter, Metric } from 'prom-client';

/**
 * Counts and latencies on the request path, kept in plain numbers and handed to
 * prom-client only when /metrics is scraped. prom-client hashes and validates the label
 * set on every inc() and observe(), even through a labelled child: five of them per GET
 * were about a twentieth of its CPU.
 */
export type Labels = Record<string, string>;

interface CountTally {
  labels: Labels;
  n: number;
}

/** A counter's label sets, counted here; `publish` is the prom-client Counter's collect(). */
export class CounterTally {
  private readonly tallies = new Map<string, CountTally>();

  /** The tally for one label set, made once; `key` names the set (cheaper to build than a hash). */
  child(key: string, labels: () => Labels): CountTally {
    return kept(this.tallies, key, () => ({ labels: labels(), n: 0 }));
  }

  publish(counter: Counter): void {
    counter.reset();
    for (const t of this.tallies.values()) if (t.n > 0) counter.inc(t.labels, t.n);
  }
}

export interface TimeTally {
  observe(seconds: number): void;
}

class Buckets implements TimeTally {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

/** A Prometheus histogram kept in plain arrays, registered with prom-client as a metric of its own. */
export class HistogramTally {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly tallies = new Map<string, Buckets>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  child(key: string, labels: () => Labels): TimeTally {
    return kept(this.tallies, key, () => new Buckets(labels(), this.bounds));
  }

  /** What prom-client's registry reads: the same shape its own Histogram returns. */
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { metricName: string; labels: Record<string, string | number>; value: number }[];
  }> {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    for (const t of this.tallies.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += t.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...t.labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...t.labels, le: '+Inf' }, value: t.count });
      values.push({ metricName: `${this.name}_sum`, labels: t.labels, value: t.sum });
      values.push({ metricName: `${this.name}_count`, labels: t.labels, value: t.count });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.tallies.clear();
  }

  /** For Registry.registerMetric, which is typed for prom-client's own classes. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}

/** The value kept under `key`, made on first use. */
export function kept<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}
