/* Shared pieces of the qaxdb command-line tool: the command table, option parsing, and where
 * things live inside a data folder. Exit codes: 0 success, 1 failure (I/O, corruption, bad
 * data), 2 usage error. */
#ifndef QX_TOOLS_CLI_H
#define QX_TOOLS_CLI_H

#include <limits.h>
#include <stdint.h>

#include "output.h"
#include "qaxdb/db.h"
#include "qaxdb/schema.h"
#include "qaxdb/wal.h"

#define CLI_DEFAULT_DATA "./qaxdb-data"
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/* Every command, in the order `qaxdb --help` lists them. */
extern const cli_command cli_commands[];

int cmd_simulate(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_schema(int argc, char **argv);
int cmd_wal_dump(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_subscribers(int argc, char **argv);

/* If argv[*i] is flag (as "--flag VALUE" or "--flag=VALUE"), stores the value, advances *i past
 * it and returns 1; returns -1 (after printing why) if the value is missing; 0 otherwise. */
int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value);

/* Parses an unsigned integer option value; prints an error naming flag and returns 0 if bad. */
int cli_parse_u64(const char *text, const char *flag, uint64_t *out);

int cli_is_help(const char *arg);

/* Commands of folders (snapshot, restore): --data DIR (*data_given then 1) and up to two
 * positional folders into folders[] (*count of them). CLI_EXIT_OK, or CLI_EXIT_USAGE after
 * saying what else was there. */
int cli_folder_args(const char *cmd, int argc, char **argv, const char **data, int *data_given,
                    const char *folders[2], int *count);

/* Prints "qaxdb CMD: unexpected argument ARG (see qaxdb CMD --help)" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "qaxdb CMD: <what>: <status>: <detail>" for a failed library call and returns 1. */
int cli_fail(const char *cmd, const char *what, int status);

/* Opens the database of a data folder (options may be NULL), reporting on stderr what
 * recovery cut. Returns CLI_EXIT_OK, or prints the failure and returns CLI_EXIT_FAILURE. */
int cli_open_db(const char *cmd, const char *data_dir, const qx_db_options *options, qx_db **out);
/* The same, returning the status and printing nothing if it fails. */
int cli_try_open_db(const char *cmd, const char *data_dir, const qx_db_options *options,
                    qx_db **out);

/* The table called name, or NULL after listing the tables on stderr. */
const qx_schema *cli_table(const char *cmd, const char *name);

/* Prints "name=value" for every column the record's schema version has (known from its size),
 * space separated, without a newline. Returns 0, printing nothing, if size is not the record
 * size of any version of table. */
int cli_print_fields(const qx_schema *table, const void *record, size_t size);

/* A log entry as wal-dump and tail print it: "lsn=N ts=T table=NAME field=value ...", or its
 * table id, version and size when it is not a known record layout. With a newline. */
void cli_print_log_entry(const qx_wal_entry *entry);

/* Records of a table as get and scan print them (record_rows.c): in CLI_FORMAT_TABLE the
 * "lsn=N name=value ..." line, in CSV and JSON the columns and text of `SELECT * FROM table` in
 * qaxdb sql (lsn and date included), after a "table" column with_table. start prints the CSV
 * header; it returns CLI_EXIT_OK or prints why not and returns CLI_EXIT_FAILURE. */
typedef struct cli_record_rows cli_record_rows;
int cli_record_rows_start(const qx_schema *table, cli_format format, int with_table,
                          cli_record_rows **out);
void cli_record_rows_print(cli_record_rows *rows, const void *record, size_t size, uint64_t lsn);
void cli_record_rows_end(cli_record_rows *rows);

/* Encodes the key of table from text values of its first count key columns (count may be less
 * than the number of key columns: a key prefix). Prints the problem and returns 0 if a value
 * does not parse. */
int cli_parse_key(const char *cmd, const qx_schema *table, const char *const *values, int count,
                  uint8_t *key, size_t *key_len);

/* Prints the engine's levels, files and counters: db's, or those given. */
void cli_print_db_stats(qx_db *db);
void cli_print_stats(const qx_db_stats *s);

/* CLI_EXIT_OK if data_dir is a directory; otherwise says so and returns CLI_EXIT_FAILURE. */
int cli_require_data_dir(const char *cmd, const char *data_dir);

/* The WAL folder inside a data folder. */
void cli_wal_dir(const char *data_dir, char out[PATH_MAX]);

#endif
