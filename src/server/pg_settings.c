/* SET, RESET and SHOW (pg_settings.h). */
#include "server/pg_settings.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"

void qx_pg_settings_init(pg_settings *st, qx_durability durability, const char *application_name) {
  st->default_durability = st->durability = durability;
  snprintf(st->application_name, sizeof st->application_name, "%s", application_name);
}

/* The next word (letters, digits, '_', '.', '/', '+', '-') or 'quoted' text, into out. */
static const char *next_token(const char *at, char *out, size_t cap) {
  while (isspace((unsigned char)*at))
    at++;
  size_t n = 0;
  if (*at == '\'') {
    for (at++; *at && *at != '\''; at++)
      if (n + 1 < cap) out[n++] = *at;
    if (*at == '\'') at++;
  } else if (*at == '=') {
    out[n++] = *at++;
  } else {
    for (; isalnum((unsigned char)*at) || (*at && strchr("_./+-", *at)); at++)
      if (n + 1 < cap) out[n++] = (char)tolower((unsigned char)*at);
  }
  out[n] = '\0';
  return at;
}

int qx_pg_is_setting(const char *text) {
  char word[16];
  next_token(text, word, sizeof word);
  return strcmp(word, "set") == 0 || strcmp(word, "reset") == 0 || strcmp(word, "show") == 0;
}

static int is_one_of(const char *value, const char *const *allowed) {
  for (; *allowed; allowed++)
    if (strcasecmp(value, *allowed) == 0) return 1;
  return 0;
}

static int refuse(const char *name, const char *value, const char *what) {
  return qx_fail(QX_ERR_INVALID_ARG, "%s cannot be '%s' here: %s", name, value, what);
}

/* SET name TO value (value "" for RESET). */
static int set(pg_settings *st, const char *name, const char *value) {
  static const char *const utf8[] = {"utf8", "utf-8", "unicode", NULL};
  static const char *const utc[] = {"utc", "etc/utc", "gmt", "z", "+00", "0", NULL};
  if (strcmp(name, "qaxdb.durability") == 0) {
    if (!*value)
      st->durability = st->default_durability;
    else if (qx_durability_parse(value, &st->durability) != QX_OK)
      return refuse(name, value,
                    "none (in the log ring), group (synced) or replicated (and on replicas)");
  } else if (strcmp(name, "application_name") == 0) {
    snprintf(st->application_name, sizeof st->application_name, "%s", value);
  } else if (strcmp(name, "client_encoding") == 0 || strcmp(name, "names") == 0) {
    if (*value && !is_one_of(value, utf8)) return refuse(name, value, "the server speaks UTF8");
  } else if (strcmp(name, "timezone") == 0) {
    if (*value && !is_one_of(value, utc)) return refuse(name, value, "times are in UTC");
  } else if (strcmp(name, "datestyle") == 0) {
    if (*value && strncasecmp(value, "iso", 3) != 0) return refuse(name, value, "dates are ISO");
  } else if (strcmp(name, "extra_float_digits") != 0) {
    return qx_fail(QX_ERR_NOT_FOUND, "qaxdbd has no setting %s", name);
  }
  return QX_OK;
}

static int show(const pg_settings *st, const char *name, pg_setting_reply *reply) {
  const char *value = strcmp(name, "qaxdb.durability") == 0   ? qx_durability_name(st->durability)
                      : strcmp(name, "application_name") == 0 ? st->application_name
                      : strcmp(name, "client_encoding") == 0  ? "UTF8"
                      : strcmp(name, "server_encoding") == 0  ? "UTF8"
                      : strcmp(name, "timezone") == 0         ? "UTC"
                      : strcmp(name, "datestyle") == 0        ? "ISO, YMD"
                      : strcmp(name, "transaction_isolation") == 0 ? "repeatable read"
                      : strcmp(name, "server_version") == 0        ? "15.0"
                                                                   : NULL;
  if (!value) return qx_fail(QX_ERR_NOT_FOUND, "qaxdbd has no setting %s", name);
  snprintf(reply->name, sizeof reply->name, "%s", name);
  snprintf(reply->value, sizeof reply->value, "%s", value);
  return QX_OK;
}

int qx_pg_setting(pg_settings *st, const char *text, pg_setting_reply *reply) {
  char verb[16], name[64], token[64], value[64] = "";
  *reply = (pg_setting_reply){0};
  const char *at = next_token(text, verb, sizeof verb);
  at = next_token(at, name, sizeof name);
  if (strcmp(verb, "set") == 0 && (strcmp(name, "session") == 0 || strcmp(name, "local") == 0))
    at = next_token(at, name, sizeof name);
  if (strcmp(verb, "set") == 0 && strcmp(name, "time") == 0) { /* SET TIME ZONE value */
    at = next_token(at, token, sizeof token);
    snprintf(name, sizeof name, "timezone");
  } else if (strcmp(verb, "set") == 0) {
    at = next_token(at, token, sizeof token);
    if (strcmp(token, "to") != 0 && strcmp(token, "=") != 0)
      return qx_fail(QX_ERR_PARSE, "SET %s: expected TO or =", name);
  }
  if (strcmp(verb, "set") == 0) at = next_token(at, value, sizeof value);
  while (isspace((unsigned char)*at) || *at == ';')
    at++;
  if (!name[0] || *at)
    return qx_fail(QX_ERR_PARSE, "%s: expected one setting name%s", verb,
                   strcmp(verb, "set") == 0 ? " and one value" : "");
  reply->tag = strcmp(verb, "show") == 0 ? "SHOW" : strcmp(verb, "set") == 0 ? "SET" : "RESET";
  if (strcmp(verb, "show") == 0) return show(st, name, reply);
  if (strcmp(verb, "set") == 0 && !value[0])
    return qx_fail(QX_ERR_PARSE, "SET %s: expected a value", name);
  return set(st, name, strcmp(verb, "reset") == 0 ? "" : value);
}
