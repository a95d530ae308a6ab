/* Option parsing and error reporting shared by the qaxdb commands (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qaxdb/status.h"

int cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(flag);
  if (strncmp(arg, flag, n) != 0) return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0') return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "qaxdb: %s needs a value\n", flag);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

int cli_parse_u64(const char *text, const char *flag, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-') {
    fprintf(stderr, "qaxdb: %s expects a non-negative integer, got '%s'\n", flag, text);
    return 0;
  }
  *out = v;
  return 1;
}

int cli_folder_args(const char *cmd, int argc, char **argv, const char **data, int *data_given,
                    const char *folders[2], int *count) {
  *data_given = 0;
  *count = 0;
  for (int i = 1; i < argc; i++) {
    int f = cli_flag_value(argc, argv, &i, "--data", data);
    if (f < 0) return CLI_EXIT_USAGE;
    *data_given |= f == 1;
    if (f == 1) continue;
    if (argv[i][0] == '-' || *count == 2)
      return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    folders[(*count)++] = argv[i];
  }
  return CLI_EXIT_OK;
}

int cli_is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "qaxdb %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see qaxdb %s --help)\n", cmd);
  return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *what, int status) {
  const char *detail = qx_last_error();
  fprintf(stderr, "qaxdb %s: %s: %s%s%s\n", cmd, what, qx_strerror(status), *detail ? ": " : "",
          detail);
  return CLI_EXIT_FAILURE;
}

void cli_wal_dir(const char *data_dir, char out[PATH_MAX]) {
  snprintf(out, PATH_MAX, "%s/wal", data_dir);
}

static void report_recovery(const char *cmd, const qx_db_recovery *rec, int read_only) {
  const qx_wal_recovery *w = &rec->wal;
  const char *what = w->salvaged ? "salvage discarded"
                     : read_only ? "read up to a torn tail (left for the next writer) of"
                                 : "cut a torn tail of";
  if (w->truncated_bytes || w->salvaged)
    fprintf(stderr,
            "qaxdb %s: recovery: %s %" PRIu64 " bytes at %s offset %" PRIu64
            "; the log ends at LSN %" PRIu64 "\n",
            cmd, what, w->truncated_bytes, w->truncated_file, w->truncated_offset, w->last_lsn);
  if (w->dropped_segments)
    fprintf(stderr, "qaxdb %s: recovery: %s %u WAL segments after the cut\n", cmd,
            read_only ? "skipped" : "removed", w->dropped_segments);
  if (w->ring_records)
    fprintf(stderr,
            "qaxdb %s: recovery: copied %" PRIu64 " acknowledged records from the log ring "
            "into the WAL (the writer was stopped before writing them out); the log ends at "
            "LSN %" PRIu64 "\n",
            cmd, w->ring_records, w->last_lsn);
  if (rec->orphan_files || rec->torn_manifest_bytes)
    fprintf(stderr,
            "qaxdb %s: recovery: removed %" PRIu64 " unfinished table files and %" PRIu64
            " bytes of a torn MANIFEST edit (a crash during a flush or compaction)\n",
            cmd, rec->orphan_files, rec->torn_manifest_bytes);
  if (rec->olap_skipped)
    fprintf(stderr,
            "qaxdb %s: recovery: LSNs %" PRIu64 "..%" PRIu64 " were trimmed from the WAL while "
            "analytics were off and are not in Parquet (SQL does not see them)\n",
            cmd, rec->olap_lsn + 1, rec->olap_lsn + rec->olap_skipped);
}

int cli_try_open_db(const char *cmd, const char *data_dir, const qx_db_options *options,
                    qx_db **out) {
  qx_db_recovery rec;
  int rc = qx_db_open(data_dir, options, out, &rec);
  if (rc == QX_OK) report_recovery(cmd, &rec, options && options->read_only);
  return rc;
}

int cli_open_db(const char *cmd, const char *data_dir, const qx_db_options *options, qx_db **out) {
  int rc = cli_try_open_db(cmd, data_dir, options, out);
  return rc == QX_OK ? CLI_EXIT_OK : cli_fail(cmd, "cannot open the database", rc);
}

const qx_schema *cli_table(const char *cmd, const char *name) {
  const qx_schema *table = qx_schema_by_name(name);
  if (table) return table;
  fprintf(stderr, "qaxdb %s: no table named '%s'; tables:", cmd, name);
  for (int id = QX_TABLE_MIN; id <= QX_TABLE_MAX; id++)
    fprintf(stderr, " %s", qx_schema_by_id(id)->name);
  fputc('\n', stderr);
  return NULL;
}

int cli_require_data_dir(const char *cmd, const char *data_dir) {
  struct stat st;
  if (stat(data_dir, &st) == 0 && S_ISDIR(st.st_mode)) return CLI_EXIT_OK;
  fprintf(stderr, "qaxdb %s: %s is not a data folder (see --data)\n", cmd, data_dir);
  return CLI_EXIT_FAILURE;
}
