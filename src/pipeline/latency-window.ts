/** The last `size` latencies, for p50/p99 gauges (a ring buffer: bounded, nothing else to drop). */
export function createLatencyWindow(size: number) {
  const values: number[] = [];
  let next = 0;
  return {
    add(ms: number) {
      if (values.length < size) values.push(ms);
      else values[next] = ms;
      next = (next + 1) % size;
    },
    quantiles(qs: number[]): Array<{ q: number; value: number }> {
      if (!values.length) return [];
      const sorted = [...values].sort((a, b) => a - b);
      return qs.map((q) => ({
        q,
        value: sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!,
      }));
    },
  };
}
