// The console's one WebSocket to qaxdbd's /ws (docs/formats/websocket.md): connects with the
// page's token, reconnects with backoff, resubscribes after the last LSN each subscription
// received (no gap, no duplicate), and runs read-only SQL as promises.

const RECEIVED_LSNS_KEPT = 100000;
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 5000;

export class ConsoleSocket {
  constructor(url, { onState, onHeartbeat, onError }) {
    this.url = url;
    this.onState = onState;
    this.onHeartbeat = onHeartbeat;
    this.onError = onError;
    this.socket = null;
    this.connected = false;
    this.backoffMs = BACKOFF_FIRST_MS;
    this.subscriptions = new Map();
    this.receivedLsns = {};
    this.pendingSql = new Map();
    this.nextSqlId = 1;
  }

  start() {
    this.open();
  }

  open() {
    this.onState('connecting');
    const socket = new WebSocket(this.url, 'qaxdb.v1');
    this.socket = socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(event);
    // An error is always followed by close, which reports it and reconnects.
    socket.onerror = () => {};
  }

  closed(event) {
    this.connected = false;
    this.socket = null;
    for (const pending of this.pendingSql.values()) {
      pending.reject(new Error('connection closed'));
    }
    this.pendingSql.clear();
    const why = event.code === 1000 || event.code === 1005 ? '' : ` (${event.code} ${event.reason})`;
    this.onState(`reconnecting in ${this.backoffMs} ms${why}`);
    setTimeout(() => this.open(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  // spec: the subscribe fields besides type, id and after_lsn; onRecords(records) gets each
  // batch in LSN order.
  subscribe(id, spec, onRecords) {
    const subscription = { id, spec, onRecords, lastLsn: null, recordsReceived: 0 };
    this.subscriptions.set(id, subscription);
    this.receivedLsns[id] = [];
    if (this.connected) this.sendSubscribe(subscription);
  }

  sendSubscribe(subscription) {
    this.send({ type: 'subscribe', id: subscription.id, ...subscription.spec,
      after_lsn: subscription.lastLsn });
  }

  sql(query) {
    const id = this.nextSqlId++;
    return new Promise((resolve, reject) => {
      if (!this.send({ type: 'sql', id, query })) {
        reject(new Error('not connected'));
        return;
      }
      this.pendingSql.set(id, { resolve, reject });
    });
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (e) {
      this.onError(`unparsable message: ${String(text).slice(0, 80)}`);
      return;
    }
    switch (message.type) {
      case 'hello':
        this.connected = true;
        this.backoffMs = BACKOFF_FIRST_MS;
        // Resubscribe before saying so: a listener may subscribe anew when told.
        for (const subscription of this.subscriptions.values()) this.sendSubscribe(subscription);
        this.onState(`connected to ${message.server}`);
        this.onHeartbeat(message.last_lsn);
        break;
      case 'subscribed':
        this.subscribed(message);
        break;
      case 'records':
        this.records(message);
        break;
      case 'heartbeat':
        this.onHeartbeat(message.last_lsn);
        break;
      case 'result':
        this.settleSql(message.id, (pending) => pending.resolve(message));
        break;
      case 'error':
        if (typeof message.id === 'number' && this.pendingSql.has(message.id)) {
          this.settleSql(message.id, (pending) => pending.reject(new Error(message.message)));
        } else {
          this.onError(`${message.id ?? 'server'}: ${message.message}`);
          this.subscriptionFailed(message.id);
        }
        break;
      case 'catchup':
      case 'live':
      case 'unsubscribed':
        break;
      default:
        this.onError(`unknown message type ${message.type}`);
    }
  }

  // Before its first record, a subscription resumes from where the server said it started,
  // so records written while it was reconnecting are not lost.
  subscribed(message) {
    const subscription = this.subscriptions.get(message.id);
    if (subscription && subscription.lastLsn === null && typeof message.next_lsn === 'number') {
      subscription.lastLsn = message.next_lsn - 1;
    }
  }

  // A resumed subscription the server cannot serve (its LSN lost in a crash of a server that
  // did not sync it, or trimmed from the WAL) starts again from the next record, once; the
  // error stays in the console's errors.
  subscriptionFailed(id) {
    const subscription = this.subscriptions.get(id);
    if (!subscription || subscription.lastLsn === null) return;
    subscription.lastLsn = null;
    this.sendSubscribe(subscription);
  }

  records(message) {
    const subscription = this.subscriptions.get(message.id);
    if (!subscription) return;
    const lsns = this.receivedLsns[message.id];
    subscription.recordsReceived += message.records.length;
    const fresh = [];
    for (const record of message.records) {
      lsns.push(record.lsn);
      // A record at or below the resume point was already handled: the server sent it twice.
      if (subscription.lastLsn !== null && record.lsn <= subscription.lastLsn) {
        this.onError(`${message.id}: LSN ${record.lsn} again (after ${subscription.lastLsn})`);
        continue;
      }
      subscription.lastLsn = record.lsn;
      fresh.push(record);
    }
    if (lsns.length > RECEIVED_LSNS_KEPT) lsns.splice(0, lsns.length - RECEIVED_LSNS_KEPT);
    if (fresh.length) subscription.onRecords(fresh);
  }

  settleSql(id, settle) {
    const pending = this.pendingSql.get(id);
    if (!pending) return;
    this.pendingSql.delete(id);
    settle(pending);
  }
}
