// Starts the console: the WebSocket (token from the page's URL), the panels, the status line,
// and window.qaxdbConsole, the state the browser tests read.

import { ConsoleSocket } from './ws.js';
import { MarketPanel } from './market.js';
import { SystemPanel } from './system.js';
import { SqlPanel } from './sql.js';

const $ = (id) => document.getElementById(id);
const errors = [];
const reportError = (message) => {
  errors.push(message);
  if (errors.length > 100) errors.shift();
  $('errors').textContent = errors.slice(-3).join(' | ');
};

const token = new URLSearchParams(location.search).get('token');
const wsUrl = new URL('ws', location.href);
wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
wsUrl.search = token ? `?token=${encodeURIComponent(token)}` : '';

let state = 'connecting';
let heartbeatLsn = null;
const connection = new ConsoleSocket(wsUrl.href, {
  onState: (s) => { state = s; renderStatus(); if (connection.connected) startPanels(); },
  onHeartbeat: (lsn) => { heartbeatLsn = lsn; renderStatus(); },
  onError: reportError,
});

const market = new MarketPanel(connection, {
  instrument: $('instrument'), interval: $('interval'), chart: $('candles'), book: $('book'),
  bookTitle: $('book-title'), tape: $('tape'), accounts: $('accounts'), onError: reportError,
});
const system = new SystemPanel({
  latency: $('chart-latency'), lsn: $('chart-lsn'), lag: $('chart-lag'), web: $('chart-web'),
  compaction: $('chart-compaction'), amplification: $('chart-amplification'),
  disk: $('chart-disk'), note: $('system-note'),
});
const sql = new SqlPanel(connection, {
  query: $('sql-query'), run: $('sql-run'), asChart: $('sql-chart'), table: $('sql-table'),
  chart: $('sql-plot'), status: $('sql-status'),
});

let panelsStarted = false;
function startPanels() {
  if (panelsStarted) return;
  panelsStarted = true;
  market.start().catch((e) => reportError(`market: ${e.message}`));
}

function lastLsn() {
  let newest = null;
  for (const s of connection.subscriptions.values()) {
    if (s.lastLsn !== null && (newest === null || s.lastLsn > newest)) newest = s.lastLsn;
  }
  return newest;
}

// Records per second, counted over about a second; the status line is redrawn more often so
// the last LSN follows the records.
let recordsSeen = 0;
let recordsSeenAt = performance.now();
let recordsPerSecond = 0;
setInterval(() => {
  const now = performance.now();
  if (now - recordsSeenAt >= 1000) {
    let total = 0;
    for (const s of connection.subscriptions.values()) total += s.recordsReceived;
    recordsPerSecond = Math.round(((total - recordsSeen) * 1000) / (now - recordsSeenAt));
    recordsSeen = total;
    recordsSeenAt = now;
  }
  renderStatus();
}, 250);

function renderStatus() {
  $('status-connection').textContent = state;
  $('status-connection').className = connection.connected ? 'ok' : 'bad';
  $('status-lsn').textContent = lastLsn() ?? '-';
  $('status-heartbeat').textContent = heartbeatLsn ?? '-';
  $('status-rate').textContent = recordsPerSecond;
}

for (const tab of document.querySelectorAll('nav button')) {
  tab.addEventListener('click', () => {
    for (const other of document.querySelectorAll('nav button')) {
      other.classList.toggle('active', other === tab);
      $(other.dataset.panel).hidden = other !== tab;
    }
    window.dispatchEvent(new Event('resize'));
  });
}

window.qaxdbConsole = {
  get connected() { return connection.connected; },
  get lastLsn() { return lastLsn(); },
  get heartbeatLsn() { return heartbeatLsn; },
  receivedLsns: connection.receivedLsns,
  get tradesReceived() { return market.tradesReceived; },
  candleCount: () => market.candleCount(),
  tapeRows: () => market.tape.map((t) => ({ lsn: t.lsn, trade_id: t.trade_id,
    instrument_id: t.instrument_id, price: t.price, volume: t.volume })),
  sqlRows: () => sql.rows(),
  get metricsPolls() { return system.polls; },
  errors,
};

connection.start();
system.start();
