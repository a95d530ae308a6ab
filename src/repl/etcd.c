/* The etcd v3 client (etcd.h) over the JSON gateway. The gateway's quirks it relies on: keys
 * and values are base64, int64 fields are JSON strings, fields at their default value (empty
 * value, no lease, a false "succeeded", TTL 0) are omitted, and streaming calls (keepalive)
 * wrap their answer in {"result": ...}. */
#include "repl/etcd.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/error.h"

/* Far above anything the controller stores; bounds memory if an endpoint misbehaves. */
#define MAX_ANSWER (64u << 20)
#define MAX_ENDPOINT 400

struct qx_etcd {
  CURL *curl;
  struct curl_slist *headers;
  char **endpoints;
  size_t n_endpoints;
  size_t current; /* the endpoint that answered last */
  char *answer;
  size_t answer_len, answer_cap;
  bool answer_too_large;
  char curl_error[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void) {
  curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *data, size_t size, size_t n, void *arg) {
  qx_etcd *etcd = arg;
  size_t len = size * n;
  if (len > MAX_ANSWER - etcd->answer_len) {
    etcd->answer_too_large = true;
    return 0;
  }
  if (etcd->answer_len + len > etcd->answer_cap) {
    size_t cap = etcd->answer_cap ? etcd->answer_cap : 4096;
    while (cap < etcd->answer_len + len)
      cap *= 2;
    char *grown = realloc(etcd->answer, cap);
    if (!grown) return 0;
    etcd->answer = grown;
    etcd->answer_cap = cap;
  }
  memcpy(etcd->answer + etcd->answer_len, data, len);
  etcd->answer_len += len;
  return len;
}

/* Splits "http://a:1, http://b:2/" into endpoints without spaces or trailing slashes. */
static int parse_endpoints(qx_etcd *etcd, const char *list) {
  size_t n = 1;
  for (const char *p = list; *p; p++)
    n += *p == ',';
  etcd->endpoints = calloc(n, sizeof *etcd->endpoints);
  if (!etcd->endpoints) return qx_fail(QX_ERR_NOMEM, "etcd: endpoint list");
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    const char *b = p, *e = end;
    while (b < e && *b == ' ')
      b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '/'))
      e--;
    /* The limit keeps endpoint + path within post()'s URL buffer. */
    if (e - b > MAX_ENDPOINT)
      return qx_fail(QX_ERR_INVALID_ARG, "etcd endpoint '%.40s...' is too long", b);
    if (strncmp(b, "http://", 7) != 0 && strncmp(b, "https://", 8) != 0)
      return qx_fail(QX_ERR_INVALID_ARG, "etcd endpoint '%.*s' is not http://host:port",
                     (int)(e - b), b);
    etcd->endpoints[etcd->n_endpoints] = strndup(b, (size_t)(e - b));
    if (!etcd->endpoints[etcd->n_endpoints++]) return qx_fail(QX_ERR_NOMEM, "etcd: endpoint");
    p = *end ? end + 1 : end;
  }
  if (etcd->n_endpoints == 0) return qx_fail(QX_ERR_INVALID_ARG, "etcd: no endpoints given");
  return QX_OK;
}

static int setup_curl(qx_etcd *etcd, int timeout_ms) {
  etcd->curl = curl_easy_init();
  /* No "Expect: 100-continue": it would cost a round trip on every larger put. */
  etcd->headers = curl_slist_append(NULL, "Content-Type: application/json");
  if (!etcd->curl || !etcd->headers || !curl_slist_append(etcd->headers, "Expect:"))
    return qx_fail(QX_ERR_NOMEM, "etcd: curl handle");
  CURL *c = etcd->curl;
  /* NOSIGNAL: timeouts must not use SIGALRM, which is process-wide. */
  if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) || curl_easy_setopt(c, CURLOPT_POST, 1L) ||
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, etcd->headers) ||
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) ||
      curl_easy_setopt(c, CURLOPT_WRITEDATA, etcd) ||
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, etcd->curl_error) ||
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms) ||
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms))
    return qx_fail(QX_ERR_IO, "etcd: curl refused an option");
  return QX_OK;
}

int qx_etcd_open(const char *endpoints, int timeout_ms, qx_etcd **out) {
  *out = NULL;
  if (!endpoints || timeout_ms <= 0)
    return qx_fail(QX_ERR_INVALID_ARG, "etcd: endpoints and a positive timeout are required");
  pthread_once(&curl_once, init_curl);
  if (curl_init_result != CURLE_OK)
    return qx_fail(QX_ERR_IO, "etcd: curl_global_init: %s", curl_easy_strerror(curl_init_result));
  qx_etcd *etcd = calloc(1, sizeof *etcd);
  if (!etcd) return qx_fail(QX_ERR_NOMEM, "etcd: handle");
  int rc = parse_endpoints(etcd, endpoints);
  if (rc == QX_OK) rc = setup_curl(etcd, timeout_ms);
  if (rc != QX_OK) {
    qx_etcd_close(etcd);
    return rc;
  }
  *out = etcd;
  return QX_OK;
}

void qx_etcd_close(qx_etcd *etcd) {
  if (!etcd) return;
  if (etcd->curl) curl_easy_cleanup(etcd->curl);
  curl_slist_free_all(etcd->headers);
  for (size_t i = 0; i < etcd->n_endpoints; i++)
    free(etcd->endpoints[i]);
  free(etcd->endpoints);
  free(etcd->answer);
  free(etcd);
}

/* Errors after which the request certainly did not reach etcd, so another member may take it
 * without the risk of applying a write twice. */
static bool not_connected(CURL *c, CURLcode cc) {
  if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
      cc == CURLE_COULDNT_RESOLVE_PROXY)
    return true;
  curl_off_t pretransfer = 0;
  return cc == CURLE_OPERATION_TIMEDOUT &&
         curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pretransfer) == CURLE_OK &&
         pretransfer == 0;
}

/* POSTs body to path on one endpoint after another until one answers; the answer is in
 * etcd->answer and its HTTP status in *http_status. */
static int post(qx_etcd *etcd, const char *path, const char *body, long *http_status,
                const char **endpoint) {
  char errors[384] = "";
  size_t used = 0;
  int rc = QX_ERR_IO;
  CURL *c = etcd->curl;
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  for (size_t tried = 0; tried < etcd->n_endpoints; tried++) {
    const char *ep = etcd->endpoints[etcd->current];
    char url[512];
    snprintf(url, sizeof url, "%s%s", ep, path);
    etcd->answer_len = 0;
    etcd->answer_too_large = false;
    etcd->curl_error[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    CURLcode cc = curl_easy_perform(c);
    *endpoint = ep;
    if (cc == CURLE_OK) {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
      return QX_OK;
    }
    const char *msg = etcd->curl_error[0] ? etcd->curl_error : curl_easy_strerror(cc);
    if (etcd->answer_too_large)
      return qx_fail(QX_ERR_TOO_LARGE, "etcd %s%s: answer over %u bytes", ep, path, MAX_ANSWER);
    if (!not_connected(c, cc))
      return qx_fail(cc == CURLE_OPERATION_TIMEDOUT ? QX_ERR_TIMEOUT : QX_ERR_IO, "etcd %s%s: %s",
                     ep, path, msg);
    if (used < sizeof errors) {
      int n = snprintf(errors + used, sizeof errors - used, "%s%s: %s", used ? "; " : "", ep, msg);
      used += n > 0 ? (size_t)n : 0;
    }
    rc = cc == CURLE_OPERATION_TIMEDOUT ? QX_ERR_TIMEOUT : QX_ERR_IO;
    etcd->current = (etcd->current + 1) % etcd->n_endpoints;
  }
  return qx_fail(rc, "etcd unreachable: %s", errors);
}

/* gRPC status codes as etcd's gateway reports them, mapped onto qaxdb's. */
static int grpc_status(json_int_t code) {
  switch (code) {
  case 3: /* INVALID_ARGUMENT */
    return QX_ERR_INVALID_ARG;
  case 4: /* DEADLINE_EXCEEDED */
    return QX_ERR_TIMEOUT;
  case 5: /* NOT_FOUND */
    return QX_ERR_NOT_FOUND;
  default:
    return QX_ERR_IO;
  }
}

/* An error answer: {"error":"...","code":N} from unary calls, {"error":{"grpc_code":N,
 * "message":"..."}} from streaming ones, or an "error" string in a lease grant's answer. */
static int etcd_error(json_t *err, json_t *answer, const char *ep, const char *path) {
  json_t *code = json_object_get(answer, "code");
  json_t *msg = err;
  if (json_is_object(err)) {
    code = json_object_get(err, "grpc_code");
    msg = json_object_get(err, "message");
  }
  return qx_fail(json_is_integer(code) ? grpc_status(json_integer_value(code)) : QX_ERR_IO,
                 "etcd %s%s: %s", ep, path, json_is_string(msg) ? json_string_value(msg) : "error");
}

/* Sends request (consumed) to path and parses the answer into *out (the caller's reference).
 * Streaming calls' {"result": ...} is unwrapped into *out; the whole answer stays in *owner. */
static int call(qx_etcd *etcd, const char *path, json_t *request, json_t **owner, json_t **out) {
  *owner = *out = NULL;
  if (!request) return qx_fail(QX_ERR_NOMEM, "etcd %s: request", path);
  char *body = json_dumps(request, JSON_COMPACT);
  json_decref(request);
  if (!body) return qx_fail(QX_ERR_NOMEM, "etcd %s: request", path);
  long status = 0;
  const char *ep = "";
  int rc = post(etcd, path, body, &status, &ep);
  free(body);
  if (rc != QX_OK) return rc;
  json_error_t jerr;
  json_t *answer = json_loadb(etcd->answer, etcd->answer_len, 0, &jerr);
  if (!json_is_object(answer)) {
    json_decref(answer);
    return qx_fail(QX_ERR_FORMAT, "etcd %s%s: HTTP %ld, not a JSON object: %.60s", ep, path, status,
                   etcd->answer_len ? etcd->answer : "(empty)");
  }
  json_t *result = json_object_get(answer, "result");
  json_t *body_obj = json_is_object(result) ? result : answer;
  json_t *err = json_object_get(answer, "error");
  if (!err) err = json_object_get(body_obj, "error");
  if ((json_is_string(err) && json_string_length(err) > 0) || json_is_object(err)) {
    rc = etcd_error(err, answer, ep, path);
    json_decref(answer);
    return rc;
  }
  if (status != 200 || !json_is_object(json_object_get(body_obj, "header"))) {
    json_decref(answer);
    return qx_fail(QX_ERR_FORMAT, "etcd %s%s: HTTP %ld without a header: %.60s", ep, path, status,
                   etcd->answer);
  }
  *owner = answer;
  *out = body_obj;
  return QX_OK;
}

/* An int64 field, which the gateway writes as a string and omits when it is 0. */
static int get_i64(json_t *obj, const char *name, int64_t *out) {
  json_t *v = json_object_get(obj, name);
  *out = 0;
  if (!v) return QX_OK;
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return QX_OK;
  }
  const char *s = json_string_value(v);
  char *end = NULL;
  long long n = s ? strtoll(s, &end, 10) : 0;
  if (!s || end == s || *end) return qx_fail(QX_ERR_FORMAT, "etcd: field %s is not an int", name);
  *out = n;
  return QX_OK;
}

/* base64 of data as a new JSON string. */
static json_t *b64_json(const void *data, size_t len) {
  char *text = malloc(QX_BASE64_LEN(len) + 1);
  if (!text) return NULL;
  qx_base64_encode(data, len, text);
  json_t *s = json_string(text);
  free(text);
  return s;
}

static char *i64_text(int64_t v, char buf[24]) {
  snprintf(buf, 24, "%" PRId64, v);
  return buf;
}

/* The number of bytes base64 text decodes to, or SIZE_MAX if it cannot be base64. */
static size_t b64_decoded_len(const char *text, size_t n) {
  if (n % 4) return SIZE_MAX;
  size_t pad = (n && text[n - 1] == '=') + (n > 1 && text[n - 2] == '=');
  return n / 4 * 3 - pad;
}

/* Decodes the base64 field name of obj (absent: empty) into a new NUL-terminated buffer. */
static int decode_field(json_t *obj, const char *name, char **out, size_t *len) {
  json_t *v = json_object_get(obj, name);
  const char *text = v ? json_string_value(v) : "";
  size_t n = text ? strlen(text) : 0;
  size_t dlen = text ? b64_decoded_len(text, n) : SIZE_MAX;
  if (dlen == SIZE_MAX) return qx_fail(QX_ERR_FORMAT, "etcd: %s is not base64", name);
  *out = malloc(dlen + 1);
  if (!*out) return qx_fail(QX_ERR_NOMEM, "etcd: %s of %zu bytes", name, dlen);
  if (qx_base64_decode(text, n, (uint8_t *)*out, dlen, len) != 0) {
    free(*out);
    *out = NULL;
    return qx_fail(QX_ERR_FORMAT, "etcd: %s is not base64", name);
  }
  (*out)[*len] = '\0';
  return QX_OK;
}

int qx_etcd_lease_grant(qx_etcd *etcd, int ttl_s, int64_t *lease_id, int *granted_ttl_s) {
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/lease/grant", json_pack("{s:i}", "TTL", ttl_s), &owner, &ans);
  if (rc != QX_OK) return rc;
  int64_t ttl = 0;
  rc = get_i64(ans, "ID", lease_id);
  if (rc == QX_OK) rc = get_i64(ans, "TTL", &ttl);
  if (rc == QX_OK && (*lease_id == 0 || ttl <= 0))
    rc = qx_fail(QX_ERR_FORMAT, "etcd lease grant: answer without an ID or TTL");
  if (rc == QX_OK && granted_ttl_s) *granted_ttl_s = (int)ttl;
  json_decref(owner);
  return rc;
}

int qx_etcd_lease_keepalive(qx_etcd *etcd, int64_t lease_id, int *ttl_s) {
  char id[24];
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/lease/keepalive", json_pack("{s:s}", "ID", i64_text(lease_id, id)),
                &owner, &ans);
  if (rc != QX_OK) return rc;
  int64_t got_id = 0, ttl = 0;
  rc = get_i64(ans, "ID", &got_id);
  if (rc == QX_OK) rc = get_i64(ans, "TTL", &ttl);
  if (rc == QX_OK && (got_id == 0 || ttl <= 0))
    rc = qx_fail(QX_ERR_NOT_FOUND, "etcd lease %" PRId64 " has expired", lease_id);
  if (rc == QX_OK && ttl_s) *ttl_s = (int)ttl;
  json_decref(owner);
  return rc;
}

int qx_etcd_lease_revoke(qx_etcd *etcd, int64_t lease_id) {
  char id[24];
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/lease/revoke", json_pack("{s:s}", "ID", i64_text(lease_id, id)), &owner,
                &ans);
  json_decref(owner);
  return rc;
}

/* A range request for key, or for all keys from key up to range_end when it is not NULL. */
static json_t *range_request(const char *key, const char *range_end, size_t end_len) {
  json_t *req = json_pack("{s:o}", "key", b64_json(key, strlen(key)));
  if (req && range_end && json_object_set_new(req, "range_end", b64_json(range_end, end_len))) {
    json_decref(req);
    return NULL;
  }
  return req;
}

int qx_etcd_get(qx_etcd *etcd, const char *key, char *buf, size_t cap, size_t *len,
                int64_t *mod_revision, int64_t *lease_id) {
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/kv/range", range_request(key, NULL, 0), &owner, &ans);
  if (rc != QX_OK) return rc;
  json_t *kv = json_array_get(json_object_get(ans, "kvs"), 0);
  int64_t mod = 0, lease = 0;
  const char *text = json_string_value(json_object_get(kv, "value"));
  size_t n = text ? strlen(text) : 0;
  size_t dlen = b64_decoded_len(text ? text : "", n);
  if (!kv) rc = qx_fail(QX_ERR_NOT_FOUND, "etcd: no key %s", key);
  if (rc == QX_OK) rc = get_i64(kv, "mod_revision", &mod);
  if (rc == QX_OK) rc = get_i64(kv, "lease", &lease);
  if (rc == QX_OK && dlen == SIZE_MAX) rc = qx_fail(QX_ERR_FORMAT, "etcd: value is not base64");
  if (rc == QX_OK) *len = dlen;
  if (rc == QX_OK && dlen > cap)
    rc = qx_fail(QX_ERR_TOO_LARGE, "etcd: value of %s is %zu bytes, buffer %zu", key, dlen, cap);
  if (rc == QX_OK && n > 0 && qx_base64_decode(text, n, (uint8_t *)buf, cap, len) != 0)
    rc = qx_fail(QX_ERR_FORMAT, "etcd: value of %s is not base64", key);
  if (rc == QX_OK && *len < cap) buf[*len] = '\0';
  if (rc == QX_OK && mod_revision) *mod_revision = mod;
  if (rc == QX_OK && lease_id) *lease_id = lease;
  json_decref(owner);
  return rc;
}

/* A put request as the gateway takes it, alone or inside a txn. */
static json_t *put_request(const char *key, const void *value, size_t len, int64_t lease_id) {
  char id[24];
  json_t *req =
      json_pack("{s:o, s:o}", "key", b64_json(key, strlen(key)), "value", b64_json(value, len));
  if (req && lease_id && json_object_set_new(req, "lease", json_string(i64_text(lease_id, id)))) {
    json_decref(req);
    return NULL;
  }
  return req;
}

int qx_etcd_put(qx_etcd *etcd, const char *key, const void *value, size_t len, int64_t lease_id) {
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/kv/put", put_request(key, value, len, lease_id), &owner, &ans);
  json_decref(owner);
  return rc;
}

/* Puts key if its target ("CREATE" or "MOD") revision equals revision; a false "succeeded"
 * is omitted from the answer, hence the absent field means the compare failed. */
static int txn_put(qx_etcd *etcd, const char *key, const char *target, const char *field,
                   int64_t revision, const void *value, size_t len, int64_t lease_id) {
  char rev[24];
  json_t *req = json_pack("{s:[{s:s, s:o, s:s}], s:[{s:o}]}", "compare", "target", target, "key",
                          b64_json(key, strlen(key)), field, i64_text(revision, rev), "success",
                          "request_put", put_request(key, value, len, lease_id));
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/kv/txn", req, &owner, &ans);
  if (rc != QX_OK) return rc;
  if (!json_is_true(json_object_get(ans, "succeeded")))
    rc = revision == 0 ? qx_fail(QX_ERR_EXISTS, "etcd: key %s exists", key)
                       : qx_fail(QX_ERR_EXISTS, "etcd: key %s is no longer at revision %" PRId64,
                                 key, revision);
  json_decref(owner);
  return rc;
}

int qx_etcd_create(qx_etcd *etcd, const char *key, const void *value, size_t len,
                   int64_t lease_id) {
  return txn_put(etcd, key, "CREATE", "create_revision", 0, value, len, lease_id);
}

int qx_etcd_cas(qx_etcd *etcd, const char *key, int64_t expected_mod_revision, const void *value,
                size_t len, int64_t lease_id) {
  return txn_put(etcd, key, "MOD", "mod_revision", expected_mod_revision, value, len, lease_id);
}

int qx_etcd_delete(qx_etcd *etcd, const char *key) {
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/kv/deleterange", range_request(key, NULL, 0), &owner, &ans);
  json_decref(owner);
  return rc;
}

/* Hands each of the answer's kvs to fn, stopping at fn's first non-zero return. */
static int each_kv(json_t *kvs, qx_etcd_kv_fn fn, void *ctx) {
  size_t i;
  json_t *kv;
  json_array_foreach(kvs, i, kv) {
    char *k = NULL, *v = NULL;
    size_t klen, vlen;
    int rc = decode_field(kv, "key", &k, &klen);
    if (rc == QX_OK) rc = decode_field(kv, "value", &v, &vlen);
    if (rc == QX_OK) rc = fn(k, v, vlen, ctx);
    free(k);
    free(v);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

int qx_etcd_get_prefix(qx_etcd *etcd, const char *prefix, qx_etcd_kv_fn fn, void *ctx) {
  /* The range ends at the prefix with its last byte below 0xff incremented; a prefix of only
   * 0xff bytes (or none) reaches to the end of the keyspace, which etcd writes as "\0". */
  size_t n = strlen(prefix);
  char *end = malloc(n + 1);
  if (!end) return qx_fail(QX_ERR_NOMEM, "etcd: range end");
  memcpy(end, prefix, n + 1);
  while (n > 0 && (unsigned char)end[n - 1] == 0xff)
    n--;
  if (n > 0)
    end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
  else
    end[0] = '\0';
  json_t *owner, *ans;
  int rc = call(etcd, "/v3/kv/range", range_request(prefix, end, n ? n : 1), &owner, &ans);
  free(end);
  if (rc != QX_OK) return rc;
  json_t *kvs = json_object_get(ans, "kvs");
  if (kvs && !json_is_array(kvs)) rc = qx_fail(QX_ERR_FORMAT, "etcd: kvs is not an array");
  if (rc == QX_OK) rc = each_kv(kvs, fn, ctx);
  json_decref(owner);
  return rc;
}
