// qaxdbd's /ws from a program (the `ws` module) against a simulating qaxdbd
// (docs/formats/websocket.md): resuming after the last LSN without gap or duplicate, binary
// batches decoded by `qaxdb schema`'s layouts matching the JSON of the same LSNs, slow consumers
// (catchup and disconnect) not holding up a normal client, filters, delayed and conflated
// subscriptions compared with SQL, the web token, the answers to bad
// requests and SQL, and the close codes.
// Usage: node ws_client_test.cjs QAXDB QAXDBD TMPDIR (ws_client_test.sh sets NODE_PATH)
'use strict';
const { execFileSync } = require('child_process');
const path = require('path');
const { fail, check, finish, sleep, waitFor, startServer, stopServer, Client, tradeLsnsFromSql,
  lsnDifference, strictlyIncreasing } = require('./web_test_lib.cjs');

const [qaxdb, qaxdbd, tmp] = process.argv.slice(2);
const token = 'ws-test-secret';
const SLOW_QUEUE_LIMIT = 1000;

// {tableId: {name, version, size, columns: [{name, type, offset, since}]}} from `qaxdb schema`.
function schemaLayouts() {
  const text = execFileSync(qaxdb, ['schema'], { encoding: 'utf8' });
  const tables = {};
  let table = null;
  for (const line of text.split('\n')) {
    const head = /^(\w+) \(table id (\d+), schema version (\d+), (\d+)-byte records/.exec(line);
    if (head) {
      table = { name: head[1], version: Number(head[3]), size: Number(head[4]), columns: [] };
      tables[head[2]] = table;
      continue;
    }
    const column = /^\s+(\w+)\s+(\S+)\s+offset\s+(\d+)(.*)$/.exec(line);
    if (column && table) {
      const since = /since v(\d+)/.exec(column[4]);
      table.columns.push({ name: column[1], type: column[2], offset: Number(column[3]),
        since: since ? Number(since[1]) : 1 });
    }
  }
  return tables;
}

// ns since the epoch as SQL shows a TIMESTAMP_NS: 'YYYY-MM-DD HH:MM:SS[.fraction]', no
// trailing zeros.
function timestampText(ns) {
  const seconds = ns / 1000000000n;
  const fraction = (ns % 1000000000n).toString().padStart(9, '0').replace(/0+$/, '');
  const text = new Date(Number(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return fraction ? `${text}.${fraction}` : text;
}

// A column of a stored record as the JSON shows it; decimals as their scaled integer text, to
// compare without floating point.
function decodeColumn(record, column) {
  const { type, offset } = column;
  if (type === 'u64') return record.readBigUInt64LE(offset);
  if (type === 'i64') return record.readBigInt64LE(offset);
  if (type === 'u32') return BigInt(record.readUInt32LE(offset));
  if (type === 'u8') return BigInt(record.readUInt8(offset));
  if (type === 'timestamp_ns') return timestampText(record.readBigInt64LE(offset));
  let m = /^char\((\d+)\)$/.exec(type);
  if (m) {
    const bytes = record.subarray(offset, offset + Number(m[1]));
    const end = bytes.indexOf(0);
    return bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
  }
  m = /^enum\((.*)\)$/.exec(type);
  if (m) return m[1].split('|')[record.readUInt8(offset)];
  m = /^decimal\(18,(\d+)\)$/.exec(type);
  if (m) return { scaled: record.readBigInt64LE(offset), scale: Number(m[1]) };
  throw new Error(`unknown column type ${type}`);
}

function sameValue(decoded, json) {
  if (typeof decoded === 'bigint') return typeof json === 'number' && BigInt(Math.round(json)) === decoded;
  if (decoded && typeof decoded === 'object') {
    return typeof json === 'number' && BigInt(Math.round(json * 10 ** decoded.scale)) === decoded.scaled;
  }
  return decoded === json;
}

// One binary records frame: {id, records: [{lsn, tsNs, tableId, version, data}]}.
function decodeBinaryBatch(buffer) {
  if (buffer.toString('latin1', 0, 4) !== 'QXWB') throw new Error(`magic ${buffer.subarray(0, 4).toString('hex')}`);
  const idLength = buffer.readUInt8(4);
  const id = buffer.toString('latin1', 5, 5 + idLength);
  let at = 5 + idLength;
  const count = buffer.readUInt32LE(at);
  at += 4;
  const records = [];
  for (let i = 0; i < count; i++) {
    const size = buffer.readUInt32LE(at + 20);
    records.push({ lsn: buffer.readBigUInt64LE(at), tsNs: buffer.readBigInt64LE(at + 8),
      tableId: buffer.readUInt16LE(at + 16), version: buffer.readUInt16LE(at + 18),
      data: buffer.subarray(at + 24, at + 24 + size) });
    at += 24 + size;
  }
  if (at !== buffer.length) throw new Error(`${buffer.length - at} bytes after ${count} records`);
  return { id, records };
}

const wsUrl = (server, query = `?token=${token}`) => `ws://127.0.0.1:${server.httpPort}/ws${query}`;

async function connect(server) {
  const client = new Client(wsUrl(server));
  const hello = await client.hello();
  if (!hello) throw new Error(`no hello: ${JSON.stringify(client.closed)}`);
  return client;
}

async function testResume(server) {
  const K = 300;
  const first = await connect(server);
  const answer = await first.subscribe('t', { table: 'trades', format: 'json' });
  check(answer && answer.type === 'subscribed', `subscribe: ${JSON.stringify(answer)}`);
  const taken = await first.records('t', K);
  first.close();
  if (!check(taken.length >= K, `resume: ${taken.length} trades of ${K} before closing`)) return;
  const last = taken[taken.length - 1].lsn;
  check(taken.every((r) => r.table === 'trades'), 'resume: a record of another table');

  const second = await connect(server);
  const again = await second.subscribe('t', { table: 'trades', after_lsn: last });
  check(again && again.type === 'subscribed', `resubscribe: ${JSON.stringify(again)}`);
  const resumed = await second.records('t', K);
  if (check(resumed.length >= K, `resume: ${resumed.length} trades of ${K} after reconnecting`)) {
    const lsns = taken.concat(resumed).map((r) => r.lsn);
    const order = strictlyIncreasing(lsns);
    check(order === null, `resume: ${order}`);
    const expected = await tradeLsnsFromSql(second, taken[0].lsn - 1, lsns[lsns.length - 1]);
    if (check(expected, 'resume: SQL did not reach the last LSN received')) {
      const difference = lsnDifference(lsns, expected);
      if (check(difference === null, `resume: the two connections' trades vs the table: ${difference}`)) {
        console.log(`resume: ${taken.length} + ${resumed.length} trades, resumed after LSN ${last}`);
      }
    }
  }
  second.close();
}

// The LSNs of table in (after, last] matching where, as SQL sees them once it reached last.
async function sqlLsns(client, table, where, after, last) {
  const result = await waitFor(async () => {
    const r = await client.sql(`SELECT lsn FROM ${table} WHERE ${where} AND lsn > ${after} ` +
      `AND lsn <= ${last} ORDER BY lsn`);
    if (r && r.type === 'error') throw new Error(`SQL: ${r.message}`);
    return r && r.lsn >= last ? r : null;
  }, 60000, 500);
  return result ? result.rows.map(([lsn]) => lsn) : null;
}

// Filters, delayed and conflated subscriptions: what each lets through, compared with SQL.
async function testKinds(server) {
  const client = await connect(server);
  await client.subscribe('any', { table: 'trades' });
  const [sample] = await client.records('any', 1);
  if (!check(sample, 'kinds: no trade to take an instrument from')) return client.close();
  const instrument = sample.instrument_id, account = sample.buy_account_id;
  const from = sample.lsn;
  await client.subscribe('inst', { table: 'trades', instrument, after_lsn: from });
  await client.subscribe('acct', { account, after_lsn: from });
  await client.subscribe('late', { table: 'trades', mode: 'delayed', delay_ms: 300, after_lsn: from });
  await client.subscribe('conf', { table: 'accounts', mode: 'conflated', delay_ms: 300 });
  const inst = await client.records('inst', 20, 60000);
  const acct = await client.records('acct', 50, 60000);
  const late = await client.records('late', 200, 60000);
  check(inst.length >= 20 && inst.every((r) => r.table === 'trades' && r.instrument_id === instrument),
    `kinds: the instrument filter let through ${JSON.stringify(inst.find((r) => r.instrument_id !== instrument))}`);
  const names = (r) => [r.account_id, r.buy_account_id, r.sell_account_id].includes(account);
  check(acct.length >= 50 && acct.every(names),
    `kinds: the account filter let through ${JSON.stringify(acct.find((r) => !names(r)))}`);
  check(new Set(acct.map((r) => r.table)).size > 1, 'kinds: the account filter saw only one table');
  for (const [what, records, where] of [['instrument', inst, `instrument_id = '${instrument}'`],
    ['delayed', late, 'true']]) {
    const lsns = records.map((r) => r.lsn);
    const expected = lsns.length ? await sqlLsns(client, 'trades', where, from, lsns[lsns.length - 1]) : null;
    const difference = expected ? lsnDifference(lsns, expected) : 'nothing to compare';
    check(difference === null, `kinds: ${what}: received vs the table: ${difference}`);
  }
  // A conflated window holds the newest record of each account, once.
  for (let window = 0; window < 3; window++) {
    const m = await client.take((x) => x.type === 'records' && x.id === 'conf', 30000);
    if (!check(m, `kinds: conflated window ${window} did not come`)) break;
    const ids = m.records.map((r) => r.account_id);
    check(new Set(ids).size === ids.length, `kinds: a conflated window repeats an account: ${ids}`);
    check(strictlyIncreasing(m.records.map((r) => r.lsn)) === null, 'kinds: conflated LSNs out of order');
  }
  console.log(`kinds: ${inst.length} trades of ${instrument}, ${acct.length} records naming ${account}, ` +
    `${late.length} delayed trades, three conflated windows of accounts`);
  client.close();
}

async function testBinary(server, layouts) {
  const client = await connect(server);
  // Both subscriptions start after the same LSN, so they carry the same records.
  const newest = await client.sql('SELECT coalesce(max(lsn), 0) AS m FROM trades');
  if (!check(newest && newest.type === 'result', `binary: SQL: ${JSON.stringify(newest)}`)) return;
  const from = newest.rows[0][0];
  for (const [id, format] of [['bin', 'binary'], ['json', 'json']]) {
    const answer = await client.subscribe(id, { table: '', format, after_lsn: from });
    check(answer && answer.type === 'subscribed', `binary: subscribe ${format}: ${JSON.stringify(answer)}`);
  }
  // Every table, so that each layout (and the columns of later schema versions) is decoded.
  const N = 2000;
  const json = await client.records('json', N);
  const binary = [];
  const deadline = Date.now() + 30000;
  while (binary.length < json.length && Date.now() < deadline) {
    const frame = await client.take((m) => m.binary, deadline - Date.now());
    if (!frame) break;
    try {
      const batch = decodeBinaryBatch(frame.binary);
      check(batch.id === 'bin', `binary: a batch for subscription ${batch.id}`);
      binary.push(...batch.records);
    } catch (e) {
      fail(`binary: undecodable frame: ${e.message}`);
      break;
    }
  }
  client.close();
  if (!check(json.length >= N && binary.length >= json.length,
    `binary: ${binary.length} binary and ${json.length} JSON records of ${N}`)) return;
  const tables = [...new Set(json.map((r) => r.table))].sort().join(', ');
  console.log(`binary: comparing ${json.length} records from LSN ${json[0].lsn} (${tables})`);
  let mismatches = 0;
  for (let i = 0; i < json.length && mismatches < 5; i++) {
    const b = binary[i];
    const j = json[i];
    const layout = layouts[b.tableId];
    const problems = [];
    if (Number(b.lsn) !== j.lsn) problems.push(`lsn ${b.lsn} vs ${j.lsn}`);
    if (Number(b.tsNs) !== j.ts_ns) problems.push(`ts_ns ${b.tsNs} vs ${j.ts_ns}`);
    if (!layout || layout.name !== j.table) problems.push(`table id ${b.tableId} vs ${j.table}`);
    if (layout) {
      const columns = layout.columns.filter((c) => c.since <= b.version);
      const size = columns.length === layout.columns.length ? layout.size : null;
      if (size !== null && b.data.length !== size) problems.push(`size ${b.data.length} vs ${size}`);
      for (const column of columns) {
        const decoded = decodeColumn(b.data, column);
        if (!sameValue(decoded, j[column.name])) {
          problems.push(`${column.name}: ${JSON.stringify(decoded, (k, v) => (typeof v === 'bigint' ? v.toString() : v))} vs ${JSON.stringify(j[column.name])}`);
        }
      }
    }
    if (problems.length) {
      mismatches++;
      fail(`binary: record ${i} (LSN ${j.lsn}) differs from its JSON: ${problems.join('; ')}`);
    }
  }
}

// Slow consumers: two clients subscribe to every table and stop reading (one with on_slow
// catchup, one with disconnect) while a third reads normally.
async function testSlow(server) {
  const normal = await connect(server);
  const catchup = await connect(server);
  const disconnect = await connect(server);
  const subscribed = [
    await normal.subscribe('all', { table: '' }),
    await catchup.subscribe('all', { table: '', on_slow: 'catchup' }),
    await disconnect.subscribe('all', { table: '', on_slow: 'disconnect' }),
  ];
  check(subscribed.every((a) => a && a.type === 'subscribed'), `slow: subscribe: ${JSON.stringify(subscribed)}`);
  catchup.socket._socket.pause();
  disconnect.socket._socket.pause();

  // Paused until the normal client has seen several queue limits of records go by and the
  // disconnect client's connection is closed by the server (its close frame waits unread).
  let normalRecords = [];
  const passed = await waitFor(async () => {
    normalRecords = normalRecords.concat(await normal.records('all', 1, 500));
    return normalRecords.length > 20 * SLOW_QUEUE_LIMIT;
  }, 120000, 0);
  check(passed, `slow: the normal client got ${normalRecords.length} records while the others were paused`);
  const normalOrder = strictlyIncreasing(normalRecords.map((r) => r.lsn));
  check(normalOrder === null, `slow: normal client: ${normalOrder}`);
  const lastDuringPause = normalRecords.length ? normalRecords[normalRecords.length - 1].lsn : 0;

  disconnect.socket._socket.resume();
  const closed = await waitFor(() => disconnect.closed, 60000);
  check(closed && closed.code === 4008 && /slow consumer: all at LSN \d+, \d+ records behind \(limit \d+\)/.test(closed.reason),
    `slow: the on_slow disconnect client: ${JSON.stringify(closed)}`);
  disconnect.close();

  catchup.socket._socket.resume();
  const records = [];
  let sawCatchup = null;
  const caughtUp = await waitFor(async () => {
    const m = await catchup.take(() => true, 1000);
    if (m && m.type === 'catchup') sawCatchup = m;
    if (m && m.type === 'records') records.push(...m.records);
    return records.length && records[records.length - 1].lsn > lastDuringPause;
  }, 120000, 0);
  check(sawCatchup, 'slow: the on_slow catchup client got no catchup message');
  check(caughtUp, `slow: the catchup client reached LSN ${records.length ? records[records.length - 1].lsn : '-'} of ${lastDuringPause}`);
  // Every table, no filter: the log's LSNs, which have no gaps.
  const lsns = records.map((r) => r.lsn);
  let gap = null;
  for (let i = 1; i < lsns.length && !gap; i++) {
    if (lsns[i] !== lsns[i - 1] + 1) gap = `LSN ${lsns[i]} after ${lsns[i - 1]} at index ${i}`;
  }
  check(gap === null, `slow: the catchup client's records: ${gap}`);
  console.log(`slow: normal client ${normalRecords.length} records during the pause; disconnect ` +
    `client closed ${JSON.stringify(closed)}; catchup ${JSON.stringify(sawCatchup)}, then ` +
    `${records.length} records from LSN ${lsns[0]} to ${lsns[lsns.length - 1]}`);
  check(!catchup.closed, `slow: the catchup client was closed: ${JSON.stringify(catchup.closed)}`);
  catchup.close();
  normal.close();
}

// The rest of the protocol: answers to bad requests, unsubscribe, the subscription limit,
// SQL answers and errors, heartbeats, and a malformed message closing with 1008.
async function testProtocol(server) {
  const client = await connect(server);
  const expectError = async (what, id, spec) => {
    const answer = await client.subscribe(id, spec);
    check(answer && answer.type === 'error' && answer.id === id && answer.message,
      `protocol: ${what}: ${JSON.stringify(answer)}`);
  };
  check((await client.subscribe('a', { table: 'trades' }) || {}).type === 'subscribed', 'protocol: subscribe a');
  await expectError('a duplicate id', 'a', { table: 'trades' });
  await expectError('an unknown table', 'b', { table: 'no_such_table' });
  await expectError('an unknown mode', 'c', { table: 'trades', mode: 'sometimes' });
  client.send({ type: 'unsubscribe', id: 'a' });
  const gone = await client.take((m) => m.type === 'unsubscribed' && m.id === 'a', 15000);
  check(gone, 'protocol: no unsubscribed for a');
  for (let i = 0; i < 16; i++) {
    const answer = await client.subscribe(`s${i}`, { table: 'ticks' });
    check(answer && answer.type === 'subscribed', `protocol: subscription ${i + 1} of 16: ${JSON.stringify(answer)}`);
  }
  await expectError('a 17th subscription', 's16', { table: 'ticks' });

  const result = await client.sql("SELECT 42 AS answer, 'x' AS text, NULL AS nothing");
  check(result && result.type === 'result' && JSON.stringify(result.rows) === '[[42,"x",null]]' &&
    result.columns.map((c) => c.name).join() === 'answer,text,nothing' && result.truncated === false &&
    typeof result.lsn === 'number', `protocol: SQL result: ${JSON.stringify(result)}`);
  const many = await client.sql('SELECT * FROM range(10001)');
  check(many && many.type === 'result' && many.rows.length === 10000 && many.truncated === true,
    `protocol: 10,001 rows: ${many && many.type} ${many && many.rows && many.rows.length} truncated ${many && many.truncated}`);
  // The same SQLSTATE psql gets for it (src/server/pg_session.c's mapping).
  const syntax = await client.sql('SELECT 1 +');
  check(syntax && syntax.type === 'error' && syntax.sqlstate === '42601', `protocol: a syntax error: ${JSON.stringify(syntax)}`);
  const write = await client.sql('CREATE TABLE t (a INT)');
  check(write && write.type === 'error' && write.message && write.sqlstate,
    `protocol: a write: ${JSON.stringify(write)}`);
  const heartbeat = await client.take((m) => m.type === 'heartbeat', 10000);
  check(heartbeat && typeof heartbeat.last_lsn === 'number' && heartbeat.last_lsn > 0,
    `protocol: heartbeat: ${JSON.stringify(heartbeat)}`);

  client.socket.send('{"type": "subscribe", ');
  const closed = await waitFor(() => client.closed, 15000);
  check(closed && closed.code === 1008 && closed.reason, `protocol: a malformed message: ${JSON.stringify(closed)}`);
}

async function testToken(server) {
  for (const [what, query, options] of [['a wrong token', '?token=wrong', {}], ['no token', '', {}],
    ['a wrong bearer', '', { headers: { Authorization: 'Bearer wrong' } }]]) {
    const client = new Client(wsUrl(server, query), options);
    const got = await waitFor(() => client.closed || client.messages.length, 15000);
    check(client.closed && client.closed.httpStatus === 401,
      `token: ${what}: ${JSON.stringify(client.closed)}, messages ${JSON.stringify(client.messages).slice(0, 200)} (${got})`);
    client.close();
  }
  const bearer = new Client(wsUrl(server, ''), { headers: { Authorization: `Bearer ${token}` } });
  check(await bearer.hello(), `token: the right bearer token: ${JSON.stringify(bearer.closed)}`);
  bearer.close();
}

async function main() {
  const layouts = schemaLayouts();
  check(layouts[2] && layouts[2].name === 'trades', '`qaxdb schema` has no trades table id 2');
  const help = execFileSync(qaxdbd, ['--help'], { encoding: 'utf8' });
  const args = ['--simulate'];
  if (help.includes('--web-queue-limit')) args.push('--web-queue-limit', String(SLOW_QUEUE_LIMIT));
  else console.log(`ws_client_test: qaxdbd has no --web-queue-limit: its own limit applies`);
  const server = await startServer({ qaxdbd, dataDir: path.join(tmp, 'data'), logDir: tmp,
    args, env: { QAXDB_WEB_TOKEN: token } });
  try {
    for (const [name, test] of [['token', testToken], ['protocol', testProtocol], ['resume', testResume], ['kinds', testKinds],
      ['binary', (s) => testBinary(s, layouts)], ['slow', testSlow]]) {
      try {
        await test(server);
      } catch (e) {
        fail(`${name}: ${e.stack || e}`);
      }
      await sleep(0);
    }
    // A client connected while the server stops is told why.
    const last = await connect(server);
    await stopServer(server);
    const closed = await waitFor(() => last.closed, 15000);
    check(closed && closed.code === 1001 && closed.reason === 'server stopping',
      `stopping: the client's close: ${JSON.stringify(closed)}`);
  } finally {
    await stopServer(server);
  }
}

main().catch((e) => fail(e.stack || String(e))).finally(() => finish('ws_client_test'));
