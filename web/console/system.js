// The system panel: polls qaxdbd's /metrics every second, parses the Prometheus text format and
// charts over time (uPlot) the write latency, the LSNs, subscriber lag, compaction and disk use,
// each from whichever of its metrics the server exports.

const POLL_MS = 1000;
const POINTS_KEPT = 600;
const LATENCY_QUANTILES = [0.5, 0.9, 0.99];

// {name: [{labels: {k: v}, value}]} from the text format; comments and malformed lines skipped.
export function parseMetrics(text) {
  const metrics = {};
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const match = line.exec(raw);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] || '').matchAll(label)) {
      labels[key] = value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    (metrics[match[1]] ||= []).push({ labels, value: Number(match[3]) });
  }
  return metrics;
}

const one = (metrics, name) => (metrics[name] ? metrics[name][0].value : undefined);
const labelText = (labels, skip) => Object.entries(labels).filter(([k]) => k !== skip)
  .map(([k, v]) => `${k}=${v}`).join(',');

// The quantile q of the observations between two readings of a cumulative histogram, by linear
// interpolation inside the bucket it falls in; null when nothing was observed in between.
export function histogramQuantile(previous, current, q) {
  const before = new Map(previous.map((b) => [b.labels.le, b.value]));
  const buckets = current.map((b) => ({ le: Number(b.labels.le === '+Inf' ? Infinity : b.labels.le),
    count: b.value - (before.get(b.labels.le) ?? 0) })).sort((a, b) => a.le - b.le);
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lower;
      const inBucket = bucket.count - below;
      return lower + (bucket.le - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}

// A uPlot chart over time whose series are named by the samples given: a new name rebuilds
// the chart, keeping the values seen so far.
class TimeChart {
  constructor(container, title, unit) {
    this.container = container;
    this.title = title;
    this.unit = unit;
    this.names = [];
    this.times = [];
    this.values = new Map();
    this.plot = null;
  }

  push(time, samples) {
    let rebuild = false;
    for (const name of Object.keys(samples)) {
      if (!this.values.has(name)) {
        this.values.set(name, new Array(this.times.length).fill(null));
        this.names.push(name);
        rebuild = true;
      }
    }
    this.times.push(time);
    for (const name of this.names) this.values.get(name).push(samples[name] ?? null);
    if (this.times.length > POINTS_KEPT) {
      this.times.shift();
      for (const series of this.values.values()) series.shift();
    }
    const data = [this.times, ...this.names.map((n) => this.values.get(n))];
    if (rebuild || !this.plot) this.build(data);
    else this.plot.setData(data);
  }

  build(data) {
    if (this.plot) this.plot.destroy();
    const palette = ['#5fb3f9', '#f4a261', '#8bd17c', '#e76f51', '#c792ea', '#e9c46a', '#6dd3ce'];
    const options = {
      title: this.title,
      width: Math.max(this.container.clientWidth, 300),
      height: 200,
      axes: [{ stroke: '#c8d0dc' }, { stroke: '#c8d0dc', size: 84,
        values: (u, ticks) => ticks.map((v) => formatValue(v, this.unit)) }],
      series: [{}, ...this.names.map((name, i) => ({ label: name,
        stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
        value: (u, v) => (v === null ? '-' : formatValue(v, this.unit)) }))],
    };
    this.plot = new window.uPlot(options, data, this.container);
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: Math.max(this.container.clientWidth, 300), height: 200 });
  }
}

function formatValue(value, unit) {
  if (value === null || value === undefined) return '-';
  if (unit === 's') {
    if (value < 1e-3) return `${(value * 1e6).toFixed(0)} µs`;
    if (value < 1) return `${(value * 1e3).toFixed(1)} ms`;
    return `${value.toFixed(2)} s`;
  }
  if (unit === 'bytes') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(value) >= 1024 && i < units.length - 1) { value /= 1024; i++; }
    return `${value.toFixed(i ? 1 : 0)} ${units[i]}`;
  }
  return Math.abs(value) >= 1e6 ? value.toExponential(2) : String(Number(value.toPrecision(5)));
}

export class SystemPanel {
  constructor(elements) {
    this.el = elements;
    this.previous = null;
    this.previousTime = 0;
    this.polls = 0;
    this.charts = {
      latency: new TimeChart(elements.latency, 'latency (since the previous second)', 's'),
      lsn: new TimeChart(elements.lsn, 'LSNs', ''),
      lag: new TimeChart(elements.lag, 'subscriber lag (records)', ''),
      web: new TimeChart(elements.web, 'web clients and sends', ''),
      compaction: new TimeChart(elements.compaction, 'bytes per level', 'bytes'),
      amplification: new TimeChart(elements.amplification, 'write amplification', ''),
      disk: new TimeChart(elements.disk, 'disk use', 'bytes'),
    };
    window.addEventListener('resize', () => Object.values(this.charts).forEach((c) => c.resize()));
  }

  start() {
    const poll = async () => {
      try {
        const response = await fetch('metrics', { cache: 'no-store' });
        if (response.ok) this.update(parseMetrics(await response.text()));
        this.el.note.textContent = response.ok ? '' : `/metrics: HTTP ${response.status}`;
      } catch (e) {
        this.el.note.textContent = `/metrics: ${e.message}`;
      }
      setTimeout(poll, POLL_MS);
    };
    poll();
  }

  update(metrics) {
    const time = Date.now() / 1000;
    this.polls++;
    this.charts.latency.push(time, { ...this.latency(metrics),
      ...this.histogramQuantiles(metrics, 'qaxdb_query_duration_seconds', 'SQL query') });
    const lsn = {};
    for (const kind of ['last', 'written', 'durable', 'converted', 'parquet']) {
      const value = one(metrics, `qaxdb_${kind}_lsn`);
      if (value !== undefined) lsn[kind] = value;
    }
    this.charts.lsn.push(time, lsn);
    const lag = {};
    for (const s of metrics.qaxdb_subscriber_lag_records || []) {
      lag[`cursor ${s.labels.cursor}`] = s.value;
    }
    // The web side's metrics: its lag gauges join the subscribers'; its counters are charted
    // as rates, its other gauges as they are.
    const web = {};
    const elapsed = this.previous ? time - this.previousTime : 0;
    for (const [name, samples] of Object.entries(metrics)) {
      if (!name.startsWith('qaxdb_web_')) continue;
      for (const s of samples) {
        const labels = labelText(s.labels);
        const series = `${name.slice('qaxdb_web_'.length)}${labels ? `{${labels}}` : ''}`;
        if (name.endsWith('_total')) {
          const before = ((this.previous && this.previous[name]) || [])
            .find((p) => labelText(p.labels) === labels);
          // A counter that went down belongs to a restarted server: no rate for that second.
          const counted = before && elapsed > 0 && s.value >= before.value;
          web[`${series}/s`] = counted ? (s.value - before.value) / elapsed : null;
        } else if (name.includes('lag')) {
          lag[`web ${series}`] = s.value;
        } else {
          web[series] = s.value;
        }
      }
    }
    this.charts.lag.push(time, lag);
    this.charts.web.push(time, web);
    const levels = {};
    let levelTotal = 0;
    for (const s of metrics.qaxdb_level_bytes || []) {
      levels[`L${s.labels.level}`] = s.value;
      levelTotal += s.value;
    }
    this.charts.compaction.push(time, levels);
    const amplification = one(metrics, 'qaxdb_write_amplification');
    this.charts.amplification.push(time,
      amplification === undefined ? {} : { 'write amplification': amplification });
    const disk = one(metrics, 'qaxdb_disk_bytes');
    this.charts.disk.push(time, disk === undefined ? { 'sum of level bytes': levelTotal }
      : { 'qaxdb_disk_bytes': disk });
    this.previous = metrics;
    this.previousTime = time;
  }

  // Write latency: quantiles the server computes, when it exports them; otherwise from the
  // buckets of the engine's write histogram, or of INSERT's, between this reading and the
  // previous one.
  latency(metrics) {
    const samples = {};
    const quantiles = metrics.qaxdb_write_latency_seconds;
    if (quantiles) {
      for (const s of quantiles) {
        if (s.labels.quantile !== undefined) samples[`write p${Number(s.labels.quantile) * 100}`] = s.value;
      }
      return samples;
    }
    if (metrics.qaxdb_write_duration_seconds_bucket) {
      return this.histogramQuantiles(metrics, 'qaxdb_write_duration_seconds', 'write');
    }
    return this.histogramQuantiles(metrics, 'qaxdb_insert_duration_seconds', 'insert');
  }

  // Quantiles of a histogram's observations since the previous reading (null: none).
  histogramQuantiles(metrics, name, label) {
    const samples = {};
    const buckets = metrics[`${name}_bucket`];
    if (!buckets) return samples;
    const previous = (this.previous && this.previous[`${name}_bucket`]) || [];
    for (const q of LATENCY_QUANTILES) {
      samples[`${label} p${q * 100}`] = histogramQuantile(previous, buckets, q);
    }
    return samples;
  }
}
