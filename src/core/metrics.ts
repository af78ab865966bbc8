/** A small Prometheus text-format registry: counters with labels, and gauges read at scrape time. */
export interface Metrics {
  inc(name: string, labels?: Record<string, string>, by?: number): void;
  /** A counter series with its labels resolved once, for hot paths (inc() formats the labels on every call). */
  counter(name: string, labels?: Record<string, string>): (by?: number) => void;
  /** Registers a gauge whose samples are computed when /metrics is scraped. */
  gauge(
    name: string,
    help: string,
    read: () => Array<{ labels?: Record<string, string>; value: number }>,
  ): void;
  describe(name: string, help: string): void;
  get(name: string, labels?: Record<string, string>): number;
  render(): string;
}

const labelKey = (labels?: Record<string, string>) =>
  labels
    ? Object.keys(labels)
        .sort()
        .map(
          (k) =>
            `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
        )
        .join(',')
    : '';

export function createMetrics(): Metrics {
  const counters = new Map<string, Map<string, number>>();
  const help = new Map<string, string>();
  const gauges = new Map<
    string,
    { help: string; read: () => Array<{ labels?: Record<string, string>; value: number }> }
  >();
  const seriesOf = (name: string) => {
    let series = counters.get(name);
    if (!series) {
      series = new Map();
      counters.set(name, series);
    }
    return series;
  };
  return {
    inc(name, labels, by = 1) {
      const series = seriesOf(name);
      const key = labelKey(labels);
      series.set(key, (series.get(key) ?? 0) + by);
    },
    counter(name, labels) {
      const series = seriesOf(name);
      const key = labelKey(labels);
      return (by = 1) => {
        series.set(key, (series.get(key) ?? 0) + by);
      };
    },
    gauge(name, h, read) {
      gauges.set(name, { help: h, read });
    },
    describe(name, h) {
      help.set(name, h);
    },
    get(name, labels) {
      return counters.get(name)?.get(labelKey(labels)) ?? 0;
    },
    render() {
      const out: string[] = [];
      for (const [name, series] of counters) {
        out.push(`# HELP ${name} ${help.get(name) ?? name}`, `# TYPE ${name} counter`);
        for (const [k, v] of series) out.push(`${name}${k ? `{${k}}` : ''} ${v}`);
      }
      for (const [name, g] of gauges) {
        out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
        try {
          for (const s of g.read()) {
            const k = labelKey(s.labels);
            out.push(`${name}${k ? `{${k}}` : ''} ${s.value}`);
          }
        } catch {
          // A failing gauge must not break the scrape; its absence is the signal.
        }
      }
      return `${out.join('\n')}\n`;
    },
  };
}
