/* Where the shell's input ends a statement (see sql_shell.h). Only this question is answered
 * here, by a scan that knows SQL's strings, quoted names, comments and dollar quoting; the
 * statements themselves are split by DuckDB's parser (qx_sql_query_each). */
#include "sql_shell.h"

#include <ctype.h>
#include <string.h>

/* Past the quote that closes the one at p (a doubled quote is part of the text), or NULL. */
static const char *skip_quoted(const char *p) {
  char quote = *p;
  for (p++; *p; p++)
    if (*p == quote) {
      if (p[1] != quote) return p + 1;
      p++;
    }
  return NULL;
}

/* If p opens a dollar-quoted string ($$ or $tag$; $1 is a parameter), its delimiter's length. */
static size_t dollar_tag(const char *p) {
  size_t n = 1;
  if (isdigit((unsigned char)p[1])) return 0;
  while (isalnum((unsigned char)p[n]) || p[n] == '_')
    n++;
  return p[n] == '$' ? n + 1 : 0;
}

/* The last character of text outside strings, quoted names and comments: '\0' if there is
 * none, -1 if text ends inside one of them (a "--" comment ends with the text, though). */
static int last_significant(const char *p) {
  int last = 0;
  while (*p) {
    size_t tag;
    if (*p == '\'' || *p == '"') {
      last = (unsigned char)*p;
      if (!(p = skip_quoted(p))) return -1;
    } else if (p[0] == '-' && p[1] == '-') {
      if (!(p = strchr(p, '\n'))) return last;
    } else if (p[0] == '/' && p[1] == '*') {
      if (!(p = strstr(p + 2, "*/"))) return -1;
      p += 2;
    } else if (*p == '$' && (tag = dollar_tag(p)) > 0) {
      const char *end = p + tag;
      while ((end = strchr(end, '$')) && strncmp(end, p, tag) != 0)
        end++;
      if (!end) return -1;
      last = '$';
      p = end + tag;
    } else {
      if (!isspace((unsigned char)*p)) last = (unsigned char)*p;
      p++;
    }
  }
  return last;
}

int cli_sql_complete(const char *text) {
  return last_significant(text) == ';';
}

int cli_sql_blank(const char *text) {
  return last_significant(text) == 0;
}
