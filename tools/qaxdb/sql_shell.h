/* The parts of qaxdb sql: running SQL text and printing each statement's result, the
 * interactive shell with its dot-commands, where its input ends a statement, and Ctrl-C. */
#ifndef QX_TOOLS_SQL_SHELL_H
#define QX_TOOLS_SQL_SHELL_H

#include "output.h"
#include "qaxdb/sql.h"

/* Runs every statement of text and prints each result in format, then the elapsed time if
 * timer is set. Prints a failure (or "cancelled" after Ctrl-C) on stderr. Returns CLI_EXIT_OK
 * or CLI_EXIT_FAILURE. */
int cli_sql_run(qx_sql *sql, const char *text, cli_format format, int timer);

/* Reads statements and dot-commands from stdin (with line editing and a history file when it
 * is a terminal) until .quit or the end of input; a last statement without ';' runs too.
 * Returns CLI_EXIT_FAILURE if stdin is not a terminal and anything failed. */
int cli_sql_shell(qx_sql *sql, cli_format format);

/* 1 if text holds a statement and ends with ';' (outside strings, quoted names and comments),
 * followed by nothing but whitespace and comments. */
int cli_sql_complete(const char *text);
/* 1 if text holds nothing but whitespace and comments. */
int cli_sql_blank(const char *text);

/* Ctrl-C (sql_interrupt.c). cli_sigint_block comes first, before any thread starts;
 * cli_sigint_start makes Ctrl-C cancel sql's query (it fails, saying so, if Ctrl-C was pressed
 * since cli_sigint_block: the user wants out); cli_sigint_stop undoes it before sql is closed.
 * While reads are broken (the shell's prompt), Ctrl-C makes a blocking read fail with EINTR instead
 * of resuming. cli_sigint_take says whether Ctrl-C was pressed since its last call. */
void cli_sigint_block(void);
int cli_sigint_start(qx_sql *sql);
void cli_sigint_stop(void);
void cli_sigint_break_reads(int yes);
int cli_sigint_take(void);

#endif
