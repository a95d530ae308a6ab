// The SQL box: runs a read-only statement over the WebSocket's `sql` message and shows the
// answer as a table, or as a uPlot line chart when the first column is a time and the others
// are numbers.

import { escapeHtml, sqlTimeMs } from './format.js';

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL)/;
const TEMPORAL = /^(TIMESTAMP|DATE|TIME)/;

export class SqlPanel {
  constructor(connection, elements) {
    this.connection = connection;
    this.el = elements;
    this.result = null;
    this.plot = null;
    elements.run.addEventListener('click', () => this.run());
    elements.query.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) this.run();
    });
    elements.asChart.addEventListener('change', () => this.show());
  }

  async run() {
    const query = this.el.query.value.trim();
    if (!query) return;
    this.el.status.textContent = 'running...';
    const started = performance.now();
    try {
      this.result = await this.connection.sql(query);
      const ms = (performance.now() - started).toFixed(0);
      this.el.status.textContent = `${this.result.rows.length} row(s)` +
        `${this.result.truncated ? ' (truncated)' : ''} at LSN ${this.result.lsn}, ${ms} ms`;
    } catch (e) {
      this.result = null;
      this.el.status.textContent = `error: ${e.message}`;
    }
    this.show();
  }

  chartable() {
    const columns = this.result ? this.result.columns : [];
    return columns.length >= 2 && TEMPORAL.test(columns[0].type) &&
      columns.slice(1).every((c) => NUMERIC.test(c.type));
  }

  show() {
    if (this.plot) {
      this.plot.destroy();
      this.plot = null;
    }
    this.el.chart.hidden = true;
    this.el.table.hidden = false;
    this.el.asChart.disabled = !this.chartable();
    if (!this.result) {
      this.el.table.innerHTML = '';
      return;
    }
    if (this.chartable() && this.el.asChart.checked) {
      this.showChart();
      return;
    }
    const { columns, rows } = this.result;
    const head = columns.map((c) => `<th title="${escapeHtml(c.type)}">${escapeHtml(c.name)}</th>`);
    const body = rows.map((row) => `<tr>${row.map((v, i) =>
      `<td class="${NUMERIC.test(columns[i].type) ? 'num' : ''}">${v === null ? '<i>null</i>' : escapeHtml(v)}</td>`)
      .join('')}</tr>`);
    this.el.table.innerHTML = `<thead><tr>${head.join('')}</tr></thead><tbody>${body.join('')}</tbody>`;
  }

  showChart() {
    const { columns, rows } = this.result;
    const sorted = rows.map((row) => [sqlTimeMs(row[0]) / 1000, ...row.slice(1)])
      .sort((a, b) => a[0] - b[0]);
    const data = columns.map((_, i) => sorted.map((row) => row[i]));
    const palette = ['#5fb3f9', '#f4a261', '#8bd17c', '#e76f51', '#c792ea', '#e9c46a'];
    this.el.table.hidden = true;
    this.el.chart.hidden = false;
    this.plot = new window.uPlot({
      width: Math.max(this.el.chart.clientWidth, 400),
      height: 300,
      axes: [{ stroke: '#c8d0dc' }, { stroke: '#c8d0dc', size: 70 }],
      series: [{}, ...columns.slice(1).map((c, i) => ({ label: c.name,
        stroke: palette[i % palette.length], width: 1.5 }))],
    }, data, this.el.chart);
  }

  rows() {
    return this.el.table.hidden ? [] : [...this.el.table.querySelectorAll('tbody tr')]
      .map((tr) => [...tr.children].map((td) => td.textContent));
  }
}
