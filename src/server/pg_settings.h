/* A session's settings, which a client SETs, RESETs and SHOWs: qaxdb.durability (none, group
 * or replicated: the durability an INSERT or COPY is acknowledged at; RESET: the server's), and
 * those drivers set on connecting, taken when they ask for what the server does anyway
 * (client_encoding UTF8, DateStyle ISO, TimeZone UTC) or change nothing here (application_name,
 * extra_float_digits). */
#ifndef QX_SERVER_PG_SETTINGS_H
#define QX_SERVER_PG_SETTINGS_H

#include "qaxdb/wal.h"

typedef struct pg_settings {
  qx_durability durability, default_durability;
  char application_name[64];
} pg_settings;

/* What a SET, RESET or SHOW answers: its command tag, and a SHOW's one value. */
typedef struct pg_setting_reply {
  const char *tag;          /* "SET", "RESET" or "SHOW" */
  char name[64], value[64]; /* SHOW: the column's name and the value */
} pg_setting_reply;

void qx_pg_settings_init(pg_settings *st, qx_durability durability, const char *application_name);

/* 1 if text is a SET, RESET or SHOW statement. */
int qx_pg_is_setting(const char *text);

/* Applies SET or RESET, or answers SHOW. QX_ERR_PARSE (the reason in qx_last_error()) for a
 * statement it cannot parse, QX_ERR_NOT_FOUND for a setting it does not know, and
 * QX_ERR_INVALID_ARG for a value it does not take. */
int qx_pg_setting(pg_settings *st, const char *text, pg_setting_reply *reply);

#endif
