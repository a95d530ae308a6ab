// What the WebSocket tests (console_test.cjs, ws_client_test.cjs) share: starting and stopping
// qaxdbd on loopback ports in a temporary folder, a promise-based client of /ws
// (docs/formats/websocket.md), SQL through it, and bounded waits.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');

let failures = 0;
function fail(message) {
  console.error(`FAIL: ${message}`);
  failures++;
}
function check(condition, message) {
  if (!condition) fail(message);
  return condition;
}
function finish(name) {
  if (failures) {
    console.error(`${name}: ${failures} failure(s)`);
    process.exitCode = 1;
  } else {
    console.log(`${name}: all checks passed`);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls predicate (which may be async) every stepMs until it is truthy or timeoutMs passed;
// returns its last value.
async function waitFor(predicate, timeoutMs, stepMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value || Date.now() >= deadline) return value;
    await sleep(stepMs);
  }
}

const servers = new Set();
process.on('exit', () => {
  for (const server of servers) server.child.kill('SIGKILL');
});

// qaxdbd on folder dataDir; ports 0 pick free ones, read back from its first two lines.
async function startServer({ qaxdbd, dataDir, logDir, pgPort = 0, httpPort = 0, args = [], env = {} }) {
  const log = path.join(logDir, `qaxdbd-${Date.now()}`);
  const out = fs.openSync(`${log}.out`, 'w');
  const err = fs.openSync(`${log}.err`, 'w');
  const child = spawn(qaxdbd, ['--data', dataDir, '--pg-port', String(pgPort),
    '--http-port', String(httpPort), ...args], { stdio: ['ignore', out, err],
    env: { ...process.env, ...env } });
  fs.closeSync(out);
  fs.closeSync(err);
  const server = { child, exited: false, log };
  servers.add(server);
  child.on('exit', () => { server.exited = true; servers.delete(server); });
  const ports = await waitFor(() => {
    const text = fs.readFileSync(`${log}.out`, 'utf8').split('\n');
    const pg = /on [0-9.]+:(\d+) /.exec(text[0] || '');
    const http = /http:\/\/[0-9.]+:(\d+)\/metrics/.exec(text[1] || '');
    return (pg && http && { pg: Number(pg[1]), http: Number(http[1]) }) || server.exited;
  }, 30000);
  if (!ports || ports === true) {
    throw new Error(`qaxdbd did not start: ${fs.readFileSync(`${log}.err`, 'utf8').slice(0, 2000)}`);
  }
  server.pgPort = ports.pg;
  server.httpPort = ports.http;
  return server;
}

// SIGTERM, and a clean exit within a bounded wait.
async function stopServer(server) {
  if (server.exited) return;
  const code = new Promise((resolve) => server.child.once('exit', (c, signal) => resolve(signal || c)));
  server.child.kill('SIGTERM');
  const result = await Promise.race([code, sleep(30000).then(() => 'timeout')]);
  if (result === 'timeout') server.child.kill('SIGKILL');
  check(result === 0, `qaxdbd exit ${result} after SIGTERM: ${
    fs.readFileSync(`${server.log}.err`, 'utf8').slice(-1000)}`);
}

// A /ws connection that queues every message for the test to take in order.
class Client {
  constructor(url, options = {}) {
    this.messages = [];
    this.waiters = [];
    this.closed = null;
    this.socket = new WebSocket(url, 'qaxdb.v1', options);
    this.socket.on('message', (data, isBinary) => {
      this.messages.push(isBinary ? { binary: Buffer.from(data) } : JSON.parse(data.toString()));
      this.wake();
    });
    this.socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.socket.on('unexpected-response', (request, response) => {
      this.closed = { httpStatus: response.statusCode };
      this.wake();
    });
    this.socket.on('error', (error) => {
      if (!this.closed) this.closed = { error: error.message };
      this.wake();
    });
    this.nextSql = 1;
  }

  wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  // The first queued message matching predicate (removed from the queue), or null after
  // timeoutMs or once the connection closed.
  async take(predicate, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex(predicate);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      if (this.closed || Date.now() >= deadline) return null;
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.min(200, Math.max(deadline - Date.now(), 0)));
      });
    }
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  close() {
    this.socket.close();
  }

  async hello() {
    return this.take((m) => m.type === 'hello', 15000);
  }

  async subscribe(id, spec) {
    this.send({ type: 'subscribe', id, ...spec });
    return this.take((m) => (m.type === 'subscribed' || m.type === 'error') && m.id === id, 15000);
  }

  async sql(query, timeoutMs = 60000) {
    const id = this.nextSql++;
    this.send({ type: 'sql', id, query });
    return this.take((m) => (m.type === 'result' || m.type === 'error') && m.id === id, timeoutMs);
  }

  // Records of subscription id until at least count are taken (or timeoutMs): an array.
  async records(id, count, timeoutMs = 30000) {
    const records = [];
    const deadline = Date.now() + timeoutMs;
    while (records.length < count && Date.now() < deadline) {
      const m = await this.take((x) => x.type === 'records' && x.id === id, deadline - Date.now());
      if (!m) break;
      records.push(...m.records);
    }
    return records;
  }
}

// The trades LSNs in (after, last] that SQL sees, in order, once SQL has converted up to last
// (the result's lsn); null if it does not get there within the wait.
async function tradeLsnsFromSql(client, after, last) {
  const lsns = [];
  let from = after;
  for (let page = 0; page < 1000 && from < last; page++) {
    const result = await waitFor(async () => {
      const r = await client.sql(`SELECT lsn FROM trades WHERE lsn > ${from} AND lsn <= ${last} ORDER BY lsn LIMIT 10000`);
      if (r && r.type === 'error') throw new Error(`SQL: ${r.message}`);
      return r && r.lsn >= last ? r : null;
    }, 60000, 500);
    if (!result) return null;
    for (const [lsn] of result.rows) lsns.push(lsn);
    if (result.rows.length < 10000) break;
    from = lsns[lsns.length - 1];
  }
  return lsns;
}

// The first difference between two LSN lists, as text, or null when they are equal.
function lsnDifference(got, expected) {
  const n = Math.max(got.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== expected[i]) {
      return `at index ${i}: received ${got[i]}, the table has ${expected[i]} ` +
        `(received ${got.length}, the table ${expected.length})`;
    }
  }
  return null;
}

function strictlyIncreasing(lsns) {
  for (let i = 1; i < lsns.length; i++) {
    if (!(lsns[i] > lsns[i - 1])) return `LSN ${lsns[i]} after ${lsns[i - 1]} at index ${i}`;
  }
  return null;
}

module.exports = { fail, check, finish, sleep, waitFor, startServer, stopServer, Client,
  tradeLsnsFromSql, lsnDifference, strictlyIncreasing };

// A signal (ctest's timeout) still stops the servers this process started, through 'exit'.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(1));
