// The market panel: candles with volume per instrument (TradingView lightweight-charts) built
// from the live trades over a history loaded with SQL, the 10-level order book from
// orderbook_snapshots, the trade tape and the accounts with their PnL.

import { escapeHtml, sqlTimeMs } from './format.js';

const TAPE_ROWS = 50;
const CANDLES_KEPT = 5000;
const LIVE_TRADES_KEPT = 5000;
const HISTORY_BUCKETS = 1800;
const BOOK_LEVELS = 10;
const ACCOUNT_ROWS = 200;

const sqlString = (text) => `'${String(text).replace(/'/g, "''")}'`;

// One instrument's candles; trades after the history's LSN are kept so that a history loaded
// late is merged with them rather than replacing them.
class InstrumentCandles {
  constructor() {
    this.candles = [];
    this.historyLsn = null;
    this.liveTrades = [];
  }

  add(time, price, volume) {
    const last = this.candles[this.candles.length - 1];
    if (last && last.time === time) {
      last.high = Math.max(last.high, price);
      last.low = Math.min(last.low, price);
      last.close = price;
      last.volume += volume;
      return last;
    }
    // A trade timestamped before the newest candle (clock steps) joins that candle.
    if (last && time < last.time) return this.add(last.time, price, volume);
    const candle = { time, open: price, high: price, low: price, close: price, volume };
    this.candles.push(candle);
    if (this.candles.length > CANDLES_KEPT) this.candles.shift();
    return candle;
  }
}

export class MarketPanel {
  constructor(connection, elements) {
    this.connection = connection;
    this.el = elements;
    this.bucketNs = Number(elements.interval.value);
    this.instruments = new Map();
    this.selected = null;
    this.tape = [];
    this.books = new Map();
    this.accounts = new Map();
    this.tradesReceived = 0;
    this.chart = this.createChart();
    elements.instrument.addEventListener('change', () => this.select(elements.instrument.value));
    elements.interval.addEventListener('change', () => {
      this.bucketNs = Number(elements.interval.value);
      for (const instrument of this.instruments.values()) {
        instrument.candles = [];
        instrument.historyLsn = null;
        for (const trade of instrument.liveTrades) {
          instrument.add(this.bucket(trade), trade.price, trade.volume);
        }
      }
      this.showCandles();
      this.loadHistory(this.selected);
    });
  }

  createChart() {
    const { createChart, CandlestickSeries, HistogramSeries } = window.LightweightCharts;
    const chart = createChart(this.el.chart, {
      autoSize: true,
      layout: { background: { color: '#11151c' }, textColor: '#c8d0dc' },
      grid: { vertLines: { color: '#1e2530' }, horzLines: { color: '#1e2530' } },
      // A candle's time is its bucket's number (ns since the epoch / bucket length), so
      // candles may be shorter than the chart's own time unit, the second (the simulator's
      // clock moves a few ms per wall second); the formatters turn the numbers back into times.
      localization: { timeFormatter: (bucket) => this.bucketTime(bucket) },
      timeScale: { tickMarkFormatter: (bucket) => this.bucketTime(bucket).slice(11) },
    });
    const candles = chart.addSeries(CandlestickSeries, {});
    const volume = chart.addSeries(HistogramSeries, {
      priceFormat: { type: 'volume' }, priceScaleId: 'volume', color: '#4a6fa5',
    });
    chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    return { chart, candles, volume };
  }

  // Called once connected: the live subscriptions first, then from SQL the instruments and the
  // books and accounts as they were (a record already received live is newer and is kept).
  async start() {
    this.connection.subscribe('trades', { table: 'trades', mode: 'live', format: 'json' },
      (records) => this.trades(records));
    this.connection.subscribe('books', { table: 'orderbook_snapshots', mode: 'live' },
      (records) => {
        for (const record of records) this.books.set(record.instrument_id, record);
        this.renderBook();
      });
    // Accounts change with every trade: the newest state of each, once a second, is enough.
    this.connection.subscribe('accounts', { table: 'accounts', mode: 'conflated', delay_ms: 1000 },
      (records) => {
        for (const record of records) this.accounts.set(record.account_id, record);
        this.renderAccounts();
      });
    const instruments = await this.connection.sql(
      'SELECT instrument_id FROM instruments ORDER BY instrument_id');
    for (const [id] of instruments.rows) this.addInstrument(id);
    const books = await this.connection.sql('SELECT * FROM orderbook_snapshots ' +
      'QUALIFY row_number() OVER (PARTITION BY instrument_id ORDER BY lsn DESC) = 1');
    for (const row of books.rows) {
      const record = Object.fromEntries(books.columns.map((c, i) => [c.name, row[i]]));
      if (!this.books.has(record.instrument_id)) this.books.set(record.instrument_id, record);
    }
    const accounts = await this.connection.sql(`SELECT * FROM accounts ORDER BY account_id LIMIT ${ACCOUNT_ROWS}`);
    for (const row of accounts.rows) {
      const record = Object.fromEntries(accounts.columns.map((c, i) => [c.name, row[i]]));
      if (!this.accounts.has(record.account_id)) this.accounts.set(record.account_id, record);
    }
    if (this.selected === null && this.instruments.size) {
      this.select(this.instruments.keys().next().value);
    }
    this.renderBook();
    this.renderAccounts();
  }

  addInstrument(id) {
    if (this.instruments.has(id)) return this.instruments.get(id);
    const instrument = new InstrumentCandles();
    this.instruments.set(id, instrument);
    const option = document.createElement('option');
    option.value = id;
    option.textContent = id;
    this.el.instrument.appendChild(option);
    return instrument;
  }

  select(id) {
    this.selected = id;
    this.el.instrument.value = id;
    this.showCandles();
    this.renderBook();
    this.loadHistory(id);
  }

  bucketTime(bucket) {
    const ms = (bucket * this.bucketNs) / 1e6;
    return new Date(ms).toISOString().slice(0, this.bucketNs < 1e9 ? 23 : 19).replace('T', ' ');
  }

  // Buckets of the trades SQL already sees; the live trades after the answer's LSN are then
  // added on top, so each trade is counted once.
  async loadHistory(id) {
    if (id === null) return;
    const bucketNs = this.bucketNs;
    const query = `SELECT (epoch_ns(ts) // ${bucketNs})::BIGINT AS t,
        arg_min(price, lsn)::DOUBLE AS open, max(price)::DOUBLE AS high,
        min(price)::DOUBLE AS low, arg_max(price, lsn)::DOUBLE AS close,
        sum(volume)::DOUBLE AS volume
      FROM trades WHERE instrument_id = ${sqlString(id)}
      GROUP BY t ORDER BY t DESC LIMIT ${HISTORY_BUCKETS}`;
    let result;
    try {
      result = await this.connection.sql(query);
    } catch (e) {
      this.el.onError(`history of ${id}: ${e.message}`);
      return;
    }
    if (bucketNs !== this.bucketNs) return;
    const instrument = this.addInstrument(id);
    instrument.candles = result.rows.reverse().map(([time, open, high, low, close, volume]) =>
      ({ time, open, high, low, close, volume }));
    instrument.historyLsn = result.lsn;
    for (const trade of instrument.liveTrades) {
      if (trade.lsn > result.lsn) instrument.add(this.bucket(trade), trade.price, trade.volume);
    }
    if (id === this.selected) this.showCandles();
  }

  // From the trade's own time (its ts column), as the history's buckets are: a record's ts_ns
  // is when it was written.
  bucket(trade) {
    return Math.floor(sqlTimeMs(trade.ts) / (this.bucketNs / 1e6));
  }

  trades(records) {
    this.tradesReceived += records.length;
    for (const trade of records) {
      const instrument = this.addInstrument(trade.instrument_id);
      instrument.liveTrades.push(trade);
      if (instrument.liveTrades.length > LIVE_TRADES_KEPT) instrument.liveTrades.shift();
      if (instrument.historyLsn !== null && trade.lsn <= instrument.historyLsn) continue;
      const candle = instrument.add(this.bucket(trade), trade.price, trade.volume);
      if (trade.instrument_id === this.selected) this.updateCandle(candle);
    }
    this.tape = records.slice(-TAPE_ROWS).reverse().concat(this.tape).slice(0, TAPE_ROWS);
    this.renderTape();
    if (this.selected === null) this.select(records[0].instrument_id);
  }

  showCandles() {
    const instrument = this.instruments.get(this.selected);
    const candles = instrument ? instrument.candles : [];
    this.chart.candles.setData(candles.map(({ time, open, high, low, close }) =>
      ({ time, open, high, low, close })));
    this.chart.volume.setData(candles.map(({ time, volume }) => ({ time, value: volume })));
  }

  updateCandle(candle) {
    const { time, open, high, low, close, volume } = candle;
    this.chart.candles.update({ time, open, high, low, close });
    this.chart.volume.update({ time, value: volume });
  }

  candleCount() {
    let count = 0;
    for (const instrument of this.instruments.values()) count += instrument.candles.length;
    return count;
  }

  renderTape() {
    const rows = this.tape.map((t) => {
      const time = String(t.ts).slice(11, 23);
      const side = t.aggressor === 'sell' ? 'sell' : 'buy';
      return `<tr class="${side}"><td>${t.lsn}</td><td>${escapeHtml(time)}</td>` +
        `<td>${escapeHtml(t.instrument_id)}</td><td class="num">${t.price}</td>` +
        `<td class="num">${t.volume}</td><td>${escapeHtml(t.aggressor)}</td></tr>`;
    });
    this.el.tape.innerHTML = rows.join('');
  }

  renderBook() {
    const book = this.books.get(this.selected);
    this.el.bookTitle.textContent = book ? `${book.instrument_id} at ${book.ts}` : 'no snapshot yet';
    const rows = [];
    // A level with no volume is empty on that side (the snapshot holds zeros there).
    const side = (kind, level) => {
      const volume = book[`${kind}_volume_${level}`];
      return volume ? [escapeHtml(volume), escapeHtml(book[`${kind}_price_${level}`])] : ['', ''];
    };
    for (let level = 1; book && level <= BOOK_LEVELS; level++) {
      const [bidVolume, bidPrice] = side('bid', level);
      const [askVolume, askPrice] = side('ask', level);
      rows.push(`<tr><td class="num buy">${bidVolume}</td><td class="num buy">${bidPrice}</td>` +
        `<td class="level">${level}</td><td class="num sell">${askPrice}</td>` +
        `<td class="num sell">${askVolume}</td></tr>`);
    }
    this.el.book.innerHTML = rows.join('');
  }

  renderAccounts() {
    const accounts = [...this.accounts.values()]
      .sort((a, b) => (a.account_id < b.account_id ? -1 : 1)).slice(0, ACCOUNT_ROWS);
    this.el.accounts.innerHTML = accounts.map((a) => {
      const pnl = a.close_profit + a.position_profit - a.commission;
      return `<tr><td>${escapeHtml(a.account_id)}</td><td class="num">${fixed(a.balance)}</td>` +
        `<td class="num">${fixed(a.available)}</td><td class="num">${fixed(a.margin)}</td>` +
        `<td class="num ${pnl < 0 ? 'sell' : 'buy'}">${fixed(pnl)}</td>` +
        `<td class="num">${fixed(a.risk_ratio, 4)}</td></tr>`;
    }).join('');
  }
}

function fixed(value, digits = 2) {
  return typeof value === 'number' ? value.toFixed(digits) : escapeHtml(value);
}
