/* The qaxdb sql shell, modelled on DuckDB's: statements end with ';' and a last one without it
 * runs at the end of the input; dot-commands take a line of their own between statements;
 * line editing and a history file (~/.qaxdb_history) through libedit when stdin is a terminal.
 * Ctrl-C cancels the running query, or abandons the line being typed at the prompt; Ctrl-D at
 * an empty prompt leaves. */
#include <editline/readline.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sql_shell.h"
#include "util/grow.h"

#define MAX_DOT_WORDS 8

typedef struct shell {
  qx_sql *sql;
  cli_format format;
  int interactive;
  int timer;
  int failures;
  int quit;
  qx_buffer pending; /* the lines of the statement being typed */
} shell;

/* ---- dot-commands ---- */

typedef struct dot_command {
  const char *name, *args, *help;
  int min_words, max_words; /* the command's name included */
  int (*run)(shell *sh, char **words, int count);
} dot_command;

static int dot_help(shell *sh, char **words, int count);

static int dot_quit(shell *sh, char **words, int count) {
  (void)words;
  (void)count;
  sh->quit = 1;
  return CLI_EXIT_OK;
}

static int dot_tables(shell *sh, char **words, int count) {
  (void)words;
  (void)count;
  return cli_sql_run(sh->sql, "SHOW TABLES", sh->format, 0);
}

/* Each table and view with its columns and their types, or one of them. */
static int dot_schema(shell *sh, char **words, int count) {
  qx_buffer q = {0};
  qx_buffer_puts(&q, "SELECT table_name AS name, string_agg(column_name || ' ' || data_type, ', ' "
                     "ORDER BY ordinal_position) AS columns FROM information_schema.columns "
                     "WHERE table_schema = 'main'");
  if (count > 1) {
    qx_buffer_puts(&q, " AND table_name = ");
    qx_buffer_put_sql_string(&q, words[1]);
  }
  qx_buffer_puts(&q, " GROUP BY table_name ORDER BY table_name");
  qx_sql_result *r = NULL;
  int rc = qx_buffer_text(&q) ? qx_sql_query(sh->sql, qx_buffer_text(&q), &r) : QX_ERR_NOMEM;
  qx_buffer_free(&q);
  int result = CLI_EXIT_FAILURE;
  if (rc != QX_OK) {
    fprintf(stderr, "Error: %s\n", qx_last_error());
  } else if (count > 1 && qx_sql_result_row_count(r) == 0) {
    fprintf(stderr, "Error: no table or view named '%s' (.tables lists them)\n", words[1]);
  } else {
    cli_print_result(r, sh->format);
    result = CLI_EXIT_OK;
  }
  qx_sql_result_destroy(r);
  return result;
}

static int dot_timer(shell *sh, char **words, int count) {
  (void)count;
  if (strcmp(words[1], "on") != 0 && strcmp(words[1], "off") != 0) {
    fprintf(stderr, "Error: .timer takes on or off, not '%s'\n", words[1]);
    return CLI_EXIT_FAILURE;
  }
  sh->timer = strcmp(words[1], "on") == 0;
  return CLI_EXIT_OK;
}

static int dot_mode(shell *sh, char **words, int count) {
  if (count == 1) {
    printf("current mode: %s\n", cli_format_name(sh->format));
    return CLI_EXIT_OK;
  }
  if (cli_format_by_name(words[1], &sh->format)) return CLI_EXIT_OK;
  fprintf(stderr, "Error: unknown mode '%s' (table, csv, json or line)\n", words[1]);
  return CLI_EXIT_FAILURE;
}

static const dot_command dot_commands[] = {
    {".help", "", "show this list", 1, 1, dot_help},
    {".tables", "", "list the tables and views", 1, 1, dot_tables},
    {".schema", "[TABLE]", "show the columns of every table and view, or of TABLE", 1, 2,
     dot_schema},
    {".mode", "[MODE]", "print results as table, csv, json or line (show the mode)", 1, 2,
     dot_mode},
    {".timer", "on|off", "print how long each statement took", 2, 2, dot_timer},
    {".quit", "", "leave the shell (as do .exit and Ctrl-D)", 1, 1, dot_quit},
    {".exit", "", NULL, 1, 1, dot_quit},
};
#define DOT_COMMANDS (sizeof dot_commands / sizeof *dot_commands)

static int dot_help(shell *sh, char **words, int count) {
  (void)sh;
  (void)words;
  (void)count;
  for (size_t i = 0; i < DOT_COMMANDS; i++) {
    const dot_command *d = &dot_commands[i];
    char usage[32];
    snprintf(usage, sizeof usage, "%s %s", d->name, d->args);
    if (d->help) printf("%-18s %s\n", usage, d->help);
  }
  printf("SQL statements end with ';'; Ctrl-C cancels a running query. See docs/sql.md.\n");
  return CLI_EXIT_OK;
}

/* Runs the dot-command on line (which it splits into words in place). */
static int run_dot_command(shell *sh, char *line) {
  char *words[MAX_DOT_WORDS + 1];
  int count = 0;
  for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w && count <= MAX_DOT_WORDS;
       w = strtok_r(NULL, " \t\r", &save))
    words[count++] = w;
  if (count == 0) return CLI_EXIT_OK; /* not reached: the line starts with '.' */
  for (size_t i = 0; i < DOT_COMMANDS; i++) {
    const dot_command *d = &dot_commands[i];
    if (strcmp(words[0], d->name) != 0) continue;
    if (count >= d->min_words && count <= d->max_words) return d->run(sh, words, count);
    fprintf(stderr, "Error: usage: %s %s\n", d->name, d->args);
    return CLI_EXIT_FAILURE;
  }
  fprintf(stderr, "Error: unknown command '%s' (.help lists the commands)\n", words[0]);
  return CLI_EXIT_FAILURE;
}

/* ---- reading input ---- */

/* A byte of the terminal; EOF at its end, or when Ctrl-C interrupted the read (the prompt is
 * the one place where reads are not resumed after a signal, see sql_interrupt.c). */
static int read_byte(FILE *in) {
  unsigned char c;
  ssize_t n = read(fileno(in), &c, 1);
  return n == 1 ? c : EOF;
}

/* libedit reads keys through this rather than on its own, so that Ctrl-C ends readline(); it
 * edits wide characters, so UTF-8 sequences are decoded here as libedit's own reader would. */
static int utf8_terminal; /* the locale's characters are UTF-8 */

static int read_key(FILE *in) {
  int c = read_byte(in);
  if (c < 0xC0 || !utf8_terminal) return c; /* EOF, ASCII, a stray byte, or a byte to pass on */
  int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  int code = c & (0x3F >> more);
  for (int i = 0; i < more; i++) {
    int next = read_byte(in);
    if (next == EOF) return EOF;
    code = code << 6 | (next & 0x3F);
  }
  return code;
}

static void history_path(char *out, size_t cap) {
  const char *home = getenv("HOME");
  snprintf(out, cap, "%s/.qaxdb_history", home && *home ? home : ".");
}

/* The next line of input without its line end (to free), or NULL at the end of the input or,
 * at the prompt, after Ctrl-C (then cli_sigint_take() says so). */
static char *read_line(shell *sh) {
  if (sh->interactive) {
    int continued = sh->pending.len && !cli_sql_blank(qx_buffer_text(&sh->pending));
    cli_sigint_break_reads(1);
    char *line = readline(continued ? "   ...> " : "qaxdb> ");
    cli_sigint_break_reads(0);
    return line;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return NULL;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

/* ---- the loop ---- */

static void run_pending(shell *sh) {
  const char *text = qx_buffer_text(&sh->pending);
  if (!text) {
    fprintf(stderr, "Error: out of memory for the statement\n");
    sh->failures++;
  } else if (!cli_sql_blank(text)) {
    if (sh->interactive) add_history(text);
    sh->failures += cli_sql_run(sh->sql, text, sh->format, sh->timer) != CLI_EXIT_OK;
  }
  qx_buffer_free(&sh->pending);
}

static int is_dot_command(const char *line) {
  line += strspn(line, " \t");
  return line[0] == '.';
}

/* A dot-command between statements, or a line of a statement, run once it ends with ';'. */
static void take_line(shell *sh, char *line) {
  const char *pending = qx_buffer_text(&sh->pending);
  if ((!pending || cli_sql_blank(pending)) && is_dot_command(line)) {
    qx_buffer_free(&sh->pending);
    if (sh->interactive) add_history(line);
    sh->failures += run_dot_command(sh, line + strspn(line, " \t")) != CLI_EXIT_OK;
    return;
  }
  if (sh->pending.len) qx_buffer_puts(&sh->pending, "\n");
  qx_buffer_puts(&sh->pending, line);
  if (cli_sql_complete(qx_buffer_text(&sh->pending))) run_pending(sh);
}

static void start_line_editing(char *hist, size_t cap) {
  setlocale(LC_CTYPE, ""); /* libedit edits characters of the terminal's encoding */
  utf8_terminal = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  rl_catch_signals = 0; /* Ctrl-C is handled by sql_interrupt.c */
  rl_getc_function = read_key;
  history_path(hist, cap);
  using_history();
  read_history(hist);
  printf("qaxdb SQL shell: end statements with ';'. .help lists the commands, Ctrl-C cancels "
         "a query, Ctrl-D leaves.\n");
}

int cli_sql_shell(qx_sql *sql, cli_format format) {
  shell sh = {.sql = sql, .format = format, .interactive = isatty(STDIN_FILENO)};
  char hist[PATH_MAX];
  if (sh.interactive) start_line_editing(hist, sizeof hist);
  while (!sh.quit) {
    char *line = read_line(&sh);
    if (!line && sh.interactive && cli_sigint_take()) {
      printf("^C\n"); /* the line and the statement typed so far are abandoned */
      qx_buffer_free(&sh.pending);
      continue;
    }
    if (!line) break;
    take_line(&sh, line);
    free(line);
  }
  run_pending(&sh); /* the end of the input ends the last statement */
  if (sh.interactive) {
    if (!sh.quit) putchar('\n'); /* after the prompt Ctrl-D left */
    write_history(hist);
  }
  return sh.failures && !sh.interactive ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
