// The web console in headless Chromium against a simulating qaxdbd: no console errors, candles
// and the trade tape grow, a SQL answer shows as a table, and after qaxdbd restarts the page
// reconnects and its trades subscription has every LSN of the table once, in order.
// Usage: node console_test.cjs QAXDBD TMPDIR (console_test.sh sets NODE_PATH)
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');
const { fail, check, finish, waitFor, startServer, stopServer, Client, tradeLsnsFromSql,
  lsnDifference, strictlyIncreasing } = require('./web_test_lib.cjs');

const [qaxdbd, tmp] = process.argv.slice(2);
const dataDir = path.join(tmp, 'data');
const token = 'console-test-token';
const serverOptions = { qaxdbd, dataDir, logDir: tmp, args: ['--simulate'],
  env: { QAXDB_WEB_TOKEN: token } };

const state = () => window.qaxdbConsole && {
  connected: window.qaxdbConsole.connected,
  trades: window.qaxdbConsole.tradesReceived,
  candles: window.qaxdbConsole.candleCount(),
  tapeNewest: (window.qaxdbConsole.tapeRows()[0] || {}).lsn || 0,
  tradeLsns: (window.qaxdbConsole.receivedLsns.trades || []).length,
  errors: window.qaxdbConsole.errors.slice(),
};

async function main() {
  let server = await startServer(serverOptions);
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    userDataDir: path.join(tmp, 'chromium'),
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--no-first-run'],
  });
  try {
    await run(browser, server, (s) => { server = s; });
  } finally {
    await browser.close();
    await stopServer(server);
  }
}

async function run(browser, firstServer, setServer) {
  let server = firstServer;
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 1000 });
  // While qaxdbd is down the browser itself logs the refused connections of the page's
  // reconnects and /metrics polls: those are expected then, and only then.
  let outage = false;
  const expectedInOutage = /WebSocket connection to .* failed|net::ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET/;
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warn' && m.type() !== 'warning') return;
    if (outage && expectedInOutage.test(m.text())) return;
    problems.push(`console ${m.type()}: ${m.text()} ${JSON.stringify(m.location())}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (!outage) problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`);
  });

  const url = `http://127.0.0.1:${server.httpPort}/?token=${token}`;
  const response = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  check(response && response.status() === 200, `GET / answered ${response && response.status()}`);
  const connected = await waitFor(() => page.evaluate(() => window.qaxdbConsole && window.qaxdbConsole.connected), 30000);
  if (!check(connected, 'the page did not connect to /ws')) return;

  // 10 ms candles: the simulator's clock moves a few ms per wall second.
  await page.select('#interval', '10000000');
  const started = await waitFor(async () => {
    const now = await page.evaluate(state);
    return now.candles > 0 && now.tapeNewest > 0;
  }, 60000, 250);
  check(started, 'no candles or trades at all');
  const before = await page.evaluate(state);
  const grown = await waitFor(async () => {
    const now = await page.evaluate(state);
    return now.candles > before.candles && now.tapeNewest > before.tapeNewest &&
      now.trades > before.trades + 50 ? now : null;
  }, 60000, 250);
  const after = await page.evaluate(state);
  console.log(`console_test: candles ${before.candles} -> ${after.candles}, trades ${before.trades} -> ${after.trades}`);
  check(grown, `candles ${before.candles} -> ${after.candles}, tape's newest LSN ` +
    `${before.tapeNewest} -> ${after.tapeNewest}, trades ${before.trades} -> ${after.trades}`);
  await page.screenshot({ path: path.join(tmp, 'market.png') });
  const tapeRows = await page.evaluate(() => document.querySelectorAll('#tape tr').length);
  check(tapeRows > 0 && tapeRows <= 50, `the tape shows ${tapeRows} rows`);
  const bookRows = await waitFor(() => page.evaluate(() => document.querySelectorAll('#book tr').length), 30000);
  check(bookRows === 10, `the order book shows ${bookRows} levels`);
  const accountRows = await waitFor(() => page.evaluate(() => document.querySelectorAll('#accounts tr').length), 30000);
  check(accountRows > 0, 'the accounts table is empty');

  await page.click('nav button[data-panel="sql"]');
  await page.$eval('#sql-query', (el) => { el.value = 'SELECT count(*) AS n FROM trades'; });
  await page.click('#sql-run');
  const rows = await waitFor(() => page.evaluate(() => {
    const r = window.qaxdbConsole.sqlRows();
    return r.length ? r : null;
  }), 60000);
  check(rows && rows.length === 1 && Number(rows[0][0]) > 0, `SQL table rows: ${JSON.stringify(rows)}`);
  const header = await page.$eval('#sql-table', (t) => t.querySelector('th') && t.querySelector('th').textContent);
  check(header === 'n', `SQL table header: ${header}`);

  // A time in the first column and numbers after it: the answer can be drawn as a chart.
  await page.$eval('#sql-query', (el) => {
    el.value = 'SELECT time_bucket(INTERVAL 10 MILLISECOND, ts::TIMESTAMP) AS t, count(*) AS n ' +
      'FROM trades GROUP BY t ORDER BY t';
  });
  await page.click('#sql-run');
  const chartable = await waitFor(() => page.$eval('#sql-chart', (box) => !box.disabled), 60000);
  if (check(chartable, 'the chart box stays disabled for a time series')) {
    await page.click('#sql-chart');
    const drawn = await waitFor(() => page.$eval('#sql-plot', (el) => !el.hidden && !!el.querySelector('canvas')), 10000);
    check(drawn, 'no chart drawn for a time series');
    await page.click('#sql-chart');
    const table = await page.evaluate(() => window.qaxdbConsole.sqlRows().length);
    check(table > 0, 'the table did not come back after the chart');
  }

  await page.click('nav button[data-panel="system"]');
  const polls = await waitFor(() => page.evaluate(() => window.qaxdbConsole.metricsPolls >= 3), 30000);
  check(polls, 'the system panel did not read /metrics three times');
  const lsnChart = await page.evaluate(() => document.querySelectorAll('#chart-lsn .u-series').length);
  check(lsnChart >= 2, `the LSN chart has ${lsnChart - 1} series`);

  // Restart on the same ports and folder: the page reconnects and resumes.
  const beforeRestart = await page.evaluate(state);
  outage = true;
  await stopServer(server);
  const dropped = await waitFor(() => page.evaluate(() => !window.qaxdbConsole.connected), 30000);
  check(dropped, 'the page did not notice qaxdbd stopping');
  server = await startServer({ ...serverOptions, pgPort: server.pgPort, httpPort: server.httpPort });
  setServer(server);
  const reconnected = await waitFor(() => page.evaluate(() => window.qaxdbConsole.connected), 60000);
  check(reconnected, 'the page did not reconnect after qaxdbd restarted');
  outage = false;
  const resumed = await waitFor(async () => {
    const now = await page.evaluate(state);
    return now.tradeLsns > beforeRestart.tradeLsns + 200;
  }, 60000, 250);
  check(resumed, 'no trades received after the restart');

  const received = await page.evaluate(() => window.qaxdbConsole.receivedLsns);
  for (const [id, subscriptionLsns] of Object.entries(received)) {
    const order = strictlyIncreasing(subscriptionLsns);
    check(order === null, `${id} LSNs received: ${order}`);
  }
  check(received.books && received.accounts, `subscriptions: ${Object.keys(received)}`);
  const lsns = received.trades;
  if (lsns.length > 1) {
    const client = new Client(`ws://127.0.0.1:${server.httpPort}/ws?token=${token}`);
    if (check(await client.hello(), 'the checking client got no hello')) {
      const expected = await tradeLsnsFromSql(client, lsns[0] - 1, lsns[lsns.length - 1]);
      if (check(expected, `SQL did not reach LSN ${lsns[lsns.length - 1]}`)) {
        const difference = lsnDifference(lsns, expected);
        if (check(difference === null, `trades LSNs received vs the table: ${difference}`)) {
          console.log(`console_test: ${lsns.length} trades LSNs ${lsns[0]}..${lsns[lsns.length - 1]} ` +
            `across the restart (${beforeRestart.tradeLsns} before it) match the table`);
        }
      }
    }
    client.close();
  }
  const final = await page.evaluate(state);
  check(final.errors.length === 0, `the console's errors: ${JSON.stringify(final.errors)}`);
  check(problems.length === 0, `browser problems:\n  ${problems.join('\n  ')}`);
  await page.screenshot({ path: path.join(tmp, 'console.png') }).catch(() => {});
}

main().catch((e) => fail(e.stack || String(e))).finally(() => finish('console_test'));
