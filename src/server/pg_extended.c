/* The extended query protocol: Parse names a statement, Bind makes a portal of it with its
 * parameters put into its text (pg_params.h), Describe and Execute run the portal once and
 * hand its rows out (in pieces when Execute asks for at most n), Sync ends the exchange. A
 * failed message sends its error and the rest up to Sync is ignored, as PostgreSQL does.
 * Results are text; binary parameters are taken for integers only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/writes.h"
#include "server/pg_params.h"
#include "server/pg_session.h"
#include "util/error.h"

#define OID_INT2 21
#define OID_INT4 23
#define OID_INT8 20
#define OID_TEXT 25
#define MAX_PARAMS 65535

struct pg_prepared {
  char name[64];
  char *query;
  int nparams;    /* declared by Parse, or used by the query if more */
  int32_t *types; /* nparams OIDs; 0 unknown */
  pg_prepared *next;
};

typedef enum portal_kind {
  PORTAL_SQL,
  PORTAL_INSERT,
  PORTAL_SETTING,
  PORTAL_TRANSACTION,
  PORTAL_EMPTY,
} portal_kind;

struct pg_portal {
  char name[64];
  char *text; /* the statement with its parameters in */
  portal_kind kind;
  qx_sql_result *result; /* PORTAL_SQL once run */
  uint64_t next_row;
  int done; /* run (and, but for PORTAL_SQL, answered) */
  pg_portal *next;
};

/* ---- reading a message's fields -------------------------------------------------------- */

typedef struct fields {
  const uint8_t *at, *end;
  int bad;
} fields;

static const char *get_str(fields *f) {
  const uint8_t *nul = f->bad ? NULL : memchr(f->at, 0, (size_t)(f->end - f->at));
  if (!nul) {
    f->bad = 1;
    return "";
  }
  const char *s = (const char *)f->at;
  f->at = nul + 1;
  return s;
}

static int32_t get_i32(fields *f) {
  if (f->bad || f->end - f->at < 4) {
    f->bad = 1;
    return 0;
  }
  uint32_t v =
      (uint32_t)f->at[0] << 24 | (uint32_t)f->at[1] << 16 | (uint32_t)f->at[2] << 8 | f->at[3];
  f->at += 4;
  return (int32_t)v;
}

static int16_t get_i16(fields *f) {
  if (f->bad || f->end - f->at < 2) {
    f->bad = 1;
    return 0;
  }
  uint16_t v = (uint16_t)(f->at[0] << 8 | f->at[1]);
  f->at += 2;
  return (int16_t)v;
}

static const uint8_t *get_bytes(fields *f, int32_t len) {
  if (f->bad || len < 0 || f->end - f->at < len) {
    f->bad = 1;
    return NULL;
  }
  const uint8_t *p = f->at;
  f->at += len;
  return p;
}

/* ---- failing -------------------------------------------------------------------------- */

static void fail_message(session *s, const char *sqlstate, const char *message) {
  qx_pg_send_error(&s->conn, "ERROR", sqlstate, message);
  s->skipping_to_sync = 1;
}

static void malformed(session *s, char type) {
  char message[64];
  snprintf(message, sizeof message, "malformed %c message", type);
  fail_message(s, "08P01", message);
}

/* ---- statements and portals ----------------------------------------------------------- */

static void free_prepared(pg_prepared *p) {
  free(p->query);
  free(p->types);
  free(p);
}

static void free_portal(pg_portal *p) {
  qx_sql_result_destroy(p->result);
  free(p->text);
  free(p);
}

static pg_prepared *find_prepared(session *s, const char *name) {
  for (pg_prepared *p = s->prepared; p; p = p->next)
    if (strcmp(p->name, name) == 0) return p;
  return NULL;
}

static pg_portal *find_portal(session *s, const char *name) {
  for (pg_portal *p = s->portals; p; p = p->next)
    if (strcmp(p->name, name) == 0) return p;
  return NULL;
}

static void drop_prepared(session *s, const char *name) {
  for (pg_prepared **p = &s->prepared; *p; p = &(*p)->next)
    if (strcmp((*p)->name, name) == 0) {
      pg_prepared *gone = *p;
      *p = gone->next;
      free_prepared(gone);
      return;
    }
}

static void drop_portal(session *s, const char *name) {
  for (pg_portal **p = &s->portals; *p; p = &(*p)->next)
    if (strcmp((*p)->name, name) == 0) {
      pg_portal *gone = *p;
      *p = gone->next;
      free_portal(gone);
      return;
    }
}

static void drop_portals(session *s) {
  while (s->portals)
    drop_portal(s, s->portals->name);
}

void qx_pg_extended_free(session *s) {
  drop_portals(s);
  while (s->prepared)
    drop_prepared(s, s->prepared->name);
}

static portal_kind kind_of(const char *text) {
  int opens;
  if (text[strspn(text, " \t\r\n;")] == '\0') return PORTAL_EMPTY;
  if (qx_insert_is_insert(text)) return PORTAL_INSERT;
  if (qx_pg_is_setting(text)) return PORTAL_SETTING;
  if (qx_pg_transaction_tag(text, &opens)) return PORTAL_TRANSACTION;
  return PORTAL_SQL;
}

/* COPY needs the simple protocol's copy exchange, and a SHOW's row its row description. */
static const char *refused_here(const char *text) {
  if (qx_copy_is_copy(text)) return "COPY through the extended protocol: use the simple protocol";
  const char *word = text + strspn(text, " \t\r\n");
  if (strncasecmp(word, "show", 4) == 0 &&
      !word[4 + strspn(word + 4, "abcdefghijklmnopqrstuvwxyz")])
    return "SHOW through the extended protocol: use the simple protocol";
  return NULL;
}

/* ---- the messages --------------------------------------------------------------------- */

static void parse(session *s, fields *f) {
  char name[64];
  snprintf(name, sizeof name, "%s", get_str(f));
  const char *query = get_str(f);
  int declared = get_i16(f);
  if (f->bad || declared < 0) return malformed(s, 'P');
  const char *refusal = refused_here(query);
  if (refusal) return fail_message(s, "0A000", refusal);
  int used = qx_pg_param_count(query), n = used > declared ? used : declared;
  pg_prepared *p = calloc(1, sizeof *p);
  if (p) p->types = calloc((size_t)n + 1, sizeof *p->types);
  if (p) p->query = strdup(query);
  if (!p || !p->types || !p->query) {
    if (p) free_prepared(p);
    return fail_message(s, "53200", "out of memory for a prepared statement");
  }
  snprintf(p->name, sizeof p->name, "%s", name);
  p->nparams = n;
  for (int i = 0; i < declared; i++)
    p->types[i] = get_i32(f);
  if (f->bad) {
    free_prepared(p);
    return malformed(s, 'P');
  }
  drop_prepared(s, name);
  p->next = s->prepared;
  s->prepared = p;
  qx_pg_begin(&s->conn, '1'); /* ParseComplete */
  qx_pg_end(&s->conn);
}

/* A binary parameter as text: integers only (by their length), as drivers send them. */
static int binary_as_text(const uint8_t *v, int32_t len, char out[24]) {
  int64_t x = 0;
  if (len != 2 && len != 4 && len != 8) return -1;
  for (int32_t i = 0; i < len; i++)
    x = (int64_t)((uint64_t)x << 8 | v[i]);
  if (len == 2) x = (int16_t)x;
  if (len == 4) x = (int32_t)x;
  snprintf(out, 24, "%lld", (long long)x);
  return 0;
}

typedef struct bound_params {
  int count;
  const char **values;
  int32_t *lengths;
  char (*converted)[24];
} bound_params;

/* The parameter values of a Bind, as text. */
static int read_params(session *s, fields *f, const pg_prepared *p, bound_params *b) {
  int nformats = get_i16(f);
  int16_t formats[1 + MAX_PARAMS / 64];
  if (nformats < 0 || nformats > (int)(sizeof formats / sizeof formats[0])) f->bad = 1;
  for (int i = 0; i < nformats && !f->bad; i++)
    formats[i] = get_i16(f);
  b->count = get_i16(f);
  if (f->bad || b->count < 0) return malformed(s, 'B'), -1;
  if (b->count < p->nparams) {
    char message[96];
    snprintf(message, sizeof message, "the statement takes %d parameters, %d were bound",
             p->nparams, b->count);
    return fail_message(s, "08P01", message), -1;
  }
  b->values = calloc((size_t)b->count + 1, sizeof *b->values);
  b->lengths = calloc((size_t)b->count + 1, sizeof *b->lengths);
  b->converted = calloc((size_t)b->count + 1, sizeof *b->converted);
  if (!b->values || !b->lengths || !b->converted)
    return fail_message(s, "53200", "out of memory for parameters"), -1;
  for (int i = 0; i < b->count; i++) {
    int32_t len = get_i32(f);
    const uint8_t *v = len < 0 ? NULL : get_bytes(f, len);
    if (f->bad) return malformed(s, 'B'), -1;
    int format = nformats == 0 ? 0 : formats[nformats == 1 ? 0 : (i < nformats ? i : 0)];
    b->lengths[i] = len;
    b->values[i] = (const char *)v;
    if (v && format == 1) {
      if (binary_as_text(v, len, b->converted[i]) != 0)
        return fail_message(s, "0A000", "binary parameters other than integers are not supported"),
               -1;
      b->values[i] = b->converted[i];
      b->lengths[i] = (int32_t)strlen(b->converted[i]);
    }
  }
  int nresults = get_i16(f);
  for (int i = 0; i < nresults && !f->bad; i++)
    if (get_i16(f) != 0) return fail_message(s, "0A000", "binary results are not supported"), -1;
  return f->bad ? (malformed(s, 'B'), -1) : 0;
}

static void bind(session *s, fields *f) {
  char portal_name[64];
  snprintf(portal_name, sizeof portal_name, "%s", get_str(f));
  const char *statement = get_str(f);
  if (f->bad) return malformed(s, 'B');
  const pg_prepared *p = find_prepared(s, statement);
  if (!p) return fail_message(s, "26000", "no prepared statement of that name");
  bound_params b = {0};
  qx_buffer text = {0};
  int rc = read_params(s, f, p, &b);
  if (rc == 0) {
    int32_t *types = calloc((size_t)b.count + 1, sizeof *types);
    for (int i = 0; types && i < p->nparams; i++)
      types[i] = p->types[i];
    rc = types ? qx_pg_bind_params(p->query, (size_t)b.count, b.values, b.lengths, types, &text)
               : QX_ERR_NOMEM;
    free(types);
    if (rc != QX_OK) fail_message(s, "08P01", qx_last_error());
  }
  pg_portal *portal = rc == QX_OK ? calloc(1, sizeof *portal) : NULL;
  if (portal) portal->text = strdup(qx_buffer_text(&text) ? qx_buffer_text(&text) : "");
  if (rc == QX_OK && (!portal || !portal->text)) {
    fail_message(s, "53200", "out of memory for a portal");
    if (portal) free_portal(portal);
    portal = NULL;
  }
  if (portal) {
    snprintf(portal->name, sizeof portal->name, "%s", portal_name);
    portal->kind = kind_of(portal->text);
    drop_portal(s, portal_name);
    portal->next = s->portals;
    s->portals = portal;
    qx_pg_begin(&s->conn, '2'); /* BindComplete */
    qx_pg_end(&s->conn);
  }
  qx_buffer_free(&text);
  free(b.values);
  free(b.lengths);
  free(b.converted);
}

/* Runs a SELECT portal the first time it is described or executed. */
static int run_portal(session *s, pg_portal *p) {
  if (p->kind != PORTAL_SQL || p->done) return QX_OK;
  int rc = qx_pg_run_query(s, p->text, &p->result);
  if (rc != QX_OK) s->skipping_to_sync = 1; /* the error is sent */
  p->done = rc == QX_OK;
  return rc;
}

static void no_data(session *s) {
  qx_pg_begin(&s->conn, 'n');
  qx_pg_end(&s->conn);
}

static void describe_statement(session *s, const pg_prepared *p) {
  qx_pg_begin(&s->conn, 't'); /* ParameterDescription */
  qx_pg_put_i16(&s->conn, (int16_t)p->nparams);
  for (int i = 0; i < p->nparams; i++)
    qx_pg_put_i32(&s->conn, p->types[i] ? p->types[i] : OID_TEXT);
  qx_pg_end(&s->conn);
  if (kind_of(p->query) != PORTAL_SQL) return no_data(s);
  /* The columns come from running the statement, with every parameter NULL. */
  qx_buffer text = {0};
  const char **nulls = calloc((size_t)p->nparams + 1, sizeof *nulls);
  int32_t *lengths = calloc((size_t)p->nparams + 1, sizeof *lengths);
  int rc = nulls && lengths
               ? qx_pg_bind_params(p->query, (size_t)p->nparams, nulls, lengths, p->types, &text)
               : QX_ERR_NOMEM;
  qx_sql_result *r = NULL;
  if (rc == QX_OK) rc = qx_pg_run_query(s, qx_buffer_text(&text), &r);
  if (rc == QX_OK)
    qx_pg_send_row_description(s, r);
  else
    s->skipping_to_sync = 1;
  qx_sql_result_destroy(r);
  qx_buffer_free(&text);
  free(nulls);
  free(lengths);
}

static void describe(session *s, fields *f) {
  uint8_t what = f->at < f->end ? *f->at++ : 0;
  const char *name = get_str(f);
  if (f->bad || (what != 'S' && what != 'P')) return malformed(s, 'D');
  if (what == 'S') {
    const pg_prepared *p = find_prepared(s, name);
    if (!p) return fail_message(s, "26000", "no prepared statement of that name");
    return describe_statement(s, p);
  }
  pg_portal *p = find_portal(s, name);
  if (!p) return fail_message(s, "34000", "no portal of that name");
  if (p->kind != PORTAL_SQL) return no_data(s);
  if (run_portal(s, p) == QX_OK) qx_pg_send_row_description(s, p->result);
}

static void execute_sql(session *s, pg_portal *p, int32_t max_rows) {
  if (run_portal(s, p) != QX_OK) return;
  uint64_t sent = qx_pg_send_rows(s, p->result, p->next_row, max_rows > 0 ? (uint64_t)max_rows : 0);
  p->next_row += sent;
  if (p->next_row < qx_sql_result_row_count(p->result)) {
    qx_pg_begin(&s->conn, 's'); /* PortalSuspended: Execute again for more */
    qx_pg_end(&s->conn);
    return;
  }
  char tag[32];
  snprintf(tag, sizeof tag, "SELECT %llu", (unsigned long long)sent);
  qx_pg_send_complete(s, tag);
}

static void execute(session *s, fields *f) {
  const char *name = get_str(f);
  int32_t max_rows = get_i32(f);
  if (f->bad) return malformed(s, 'E');
  pg_portal *p = find_portal(s, name);
  if (!p) return fail_message(s, "34000", "no portal of that name");
  if (p->kind == PORTAL_SQL) return execute_sql(s, p, max_rows);
  if (p->done) return fail_message(s, "55000", "the portal's statement has run already");
  p->done = 1;
  int rc = QX_OK;
  if (p->kind == PORTAL_INSERT) rc = qx_pg_run_insert(s, p->text);
  if (p->kind == PORTAL_SETTING) rc = qx_pg_run_setting(s, p->text);
  if (p->kind == PORTAL_TRANSACTION) qx_pg_run_transaction(s, p->text);
  if (p->kind == PORTAL_EMPTY) {
    qx_pg_begin(&s->conn, 'I'); /* EmptyQueryResponse */
    qx_pg_end(&s->conn);
  }
  if (rc != QX_OK) s->skipping_to_sync = 1;
}

static void close_one(session *s, fields *f) {
  uint8_t what = f->at < f->end ? *f->at++ : 0;
  const char *name = get_str(f);
  if (f->bad || (what != 'S' && what != 'P')) return malformed(s, 'C');
  if (what == 'S')
    drop_prepared(s, name);
  else
    drop_portal(s, name);
  qx_pg_begin(&s->conn, '3'); /* CloseComplete */
  qx_pg_end(&s->conn);
}

void qx_pg_extended(session *s, uint8_t type, const uint8_t *body, uint32_t len) {
  fields f = {body, body + len, 0};
  if (type == 'S') { /* Sync: the end of the exchange, and of its portals */
    s->skipping_to_sync = 0;
    if (!s->in_transaction) drop_portals(s);
    qx_pg_send_ready(s);
    qx_pg_flush(&s->conn);
    return;
  }
  if (type == 'H') {
    qx_pg_flush(&s->conn);
    return;
  }
  if (s->skipping_to_sync) return;
  if (type == 'P') parse(s, &f);
  if (type == 'B') bind(s, &f);
  if (type == 'D') describe(s, &f);
  if (type == 'E') execute(s, &f);
  if (type == 'C') close_one(s, &f);
}
