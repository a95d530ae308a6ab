/* qx_db_repair: rebuilding a folder's MANIFEST from its files when CURRENT or the MANIFEST is
 * lost or damaged (LevelDB's RepairDB is the model). Nothing is deleted that is not proven
 * obsolete: damaged files, old MANIFESTs and CURRENT are moved to <dir>/lost/ and named in the
 * notes.
 *
 * Steps, in order:
 *   1. the WAL is scanned; damage before its tail is salvaged (entries before it kept);
 *   2. every table file is verified; the good ones are merged into new files of the last
 *      level, newest version of each key only (a repaired folder has no snapshots). When the
 *      WAL ends below the table files' highest LSN it cannot go on from there: its entries
 *      join the merge, its segments go to lost/, and the next open starts a new log after
 *      the checkpoint;
 *   3. every Parquet part file is read through DuckDB; the readable ones are recorded, and
 *      the Parquet LSN is the highest LSN they hold;
 *   4. the checkpoint is the table files' highest LSN, lowered to just before the WAL's first
 *      entry when the WAL holds older writes (replay then restores writes of lost table
 *      files); writes in neither place are reported lost;
 *   5. a new MANIFEST names all of it and CURRENT points at it; only then are the merged
 *      table files deleted. */
#include <dirent.h>
#include <duckdb.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lsm/merge_iter.h"
#include "lsm/recover.h"
#include "lsm/table_merge.h"
#include "lsm/wal_codec.h"
#include "memtable/memtable.h"
#include "olap/duck_exec.h"
#include "olap/part_files.h"
#include "util/dirlock.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"
#include "util/io.h"

typedef struct repair {
  const char *dir;
  char wal_dir[PATH_MAX], lost_dir[PATH_MAX];
  qx_db_options opt;
  qx_repair_note_fn note;
  void *note_ctx;
  qx_db_repair_report *report;
  qx_version_set vs;
  pthread_mutex_t mu;
  qx_counters counters;
  qx_totals totals;      /* from the old MANIFEST if it can be read */
  qx_block_cache *cache; /* for compressed table files */
  /* table files */
  qx_sst **inputs;
  uint64_t *input_numbers;
  size_t input_count, input_cap;
  qx_table_merge merge;
  qx_memtable *wal_entries; /* the WAL's writes, when they join the merge */
  /* Parquet */
  qx_parquet_edit parquet;
  duckdb_database duck;
  duckdb_connection con;
} repair;

static void note(repair *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(repair *r, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (r->note) r->note(line, r->note_ctx);
}

/* Moves path into lost/ (keeping its name, numbered if taken) and says why. */
static int move_to_lost(repair *r, const char *path, const char *why) {
  int rc = qx_mkdir_p(r->lost_dir);
  if (rc != QX_OK) return rc;
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  char target[PATH_MAX + 300];
  snprintf(target, sizeof target, "%s/%s", r->lost_dir, name);
  for (int n = 1; access(target, F_OK) == 0; n++)
    snprintf(target, sizeof target, "%s/%s.%d", r->lost_dir, name, n);
  if (qx_io_rename(path, target) != 0)
    return qx_fail_errno(QX_ERR_IO, errno, "move %s to %s", path, target);
  note(r, "%s: %s; moved to %s", path, why, target);
  return QX_OK;
}

/* Moves every file of dir whose name matches to lost/. */
static int move_all_to_lost(repair *r, const char *dir, int (*matches)(const char *name),
                            const char *why) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "open %s", dir);
  int rc = QX_OK;
  struct dirent *de;
  while (rc == QX_OK && (de = readdir(d)) != NULL) {
    if (!matches(de->d_name)) continue;
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    rc = move_to_lost(r, path, why);
  }
  closedir(d);
  return rc;
}

/* ---- 1. the WAL ---- */

static int repair_wal(repair *r) {
  qx_wal_recovery rec;
  int rc = qx_wal_scan(r->wal_dir, 1, NULL, NULL, &rec);
  if (rc == QX_ERR_CORRUPT) {
    note(r, "WAL damaged: %s; keeping every entry before the damage", qx_last_error());
    qx_wal_options wo = r->opt.wal;
    wo.salvage = 1;
    qx_wal *wal;
    rc = qx_wal_open(r->wal_dir, &wo, &wal, &rec);
    if (rc == QX_OK) rc = qx_wal_close(wal);
    r->report->wal_discarded_bytes = rec.truncated_bytes;
  }
  if (rc != QX_OK) return rc;
  r->report->wal_first_lsn = rec.first_lsn;
  r->report->wal_last_lsn = rec.last_lsn;
  return QX_OK;
}

/* ---- 2. the table files ---- */

static int add_input(repair *r, const char *path, uint64_t number) {
  qx_sst *sst;
  int rc = qx_sst_open(path, number, r->cache, NULL, &sst);
  if (rc != QX_OK) return move_to_lost(r, path, qx_last_error());
  size_t need = r->input_count + 1;
  size_t cap = r->input_cap;
  rc = qx_grow((void **)&r->inputs, &cap, need, sizeof *r->inputs, "repair inputs");
  if (rc == QX_OK)
    rc = qx_grow((void **)&r->input_numbers, &r->input_cap, need, sizeof *r->input_numbers,
                 "repair inputs");
  if (rc != QX_OK) {
    qx_sst_unref(sst);
    return rc;
  }
  r->inputs[r->input_count] = sst;
  r->input_numbers[r->input_count++] = number;
  return QX_OK;
}

/* Verifies one file of sst/: good table files become inputs, the rest go to lost/. */
static int examine_table_file(repair *r, const char *name) {
  char path[PATH_MAX + 300];
  snprintf(path, sizeof path, "%s/%s", r->vs.sst_dir, name);
  uint64_t number;
  char suffix[8] = "";
  if (sscanf(name, "%" SCNu64 ".%7s", &number, suffix) != 2 || strcmp(suffix, "sst") != 0)
    return move_to_lost(r, path, "not a table file (a temporary of an unfinished write)");
  if (number >= atomic_load(&r->vs.next_file_number))
    atomic_store(&r->vs.next_file_number, number + 1);
  uint64_t entries;
  if (qx_sst_verify(path, &entries) != QX_OK) {
    r->report->tables_lost++;
    return move_to_lost(r, path, qx_last_error());
  }
  r->report->tables_kept++;
  return add_input(r, path, number);
}

static int collect_table_files(repair *r) {
  DIR *d = opendir(r->vs.sst_dir);
  if (!d)
    return errno == ENOENT ? QX_OK : qx_fail_errno(QX_ERR_IO, errno, "open %s", r->vs.sst_dir);
  int rc = QX_OK;
  struct dirent *de;
  while (rc == QX_OK && (de = readdir(d)) != NULL)
    if (de->d_name[0] != '.') rc = examine_table_file(r, de->d_name);
  closedir(d);
  return rc;
}

/* ---- a WAL that ends below the table files ---- */

static uint64_t highest_lsn(qx_sst *sst) {
  uint64_t max = 0;
  qx_iter *it;
  if (qx_sst_iter_create(sst, &it) != QX_OK) return 0;
  for (qx_iter_seek_first(it); qx_iter_valid(it); qx_iter_next(it))
    if (qx_iter_entry(it)->lsn > max) max = qx_iter_entry(it)->lsn;
  qx_iter_destroy(it);
  return max;
}

static int add_wal_entry(const qx_wal_entry *e, void *ctx) {
  qx_decoded_write w;
  int rc = qx_wal_entry_decode(e, &w);
  return rc == QX_OK ? qx_memtable_add(ctx, w.key, w.key_len, e->lsn, w.kind, w.value, w.value_len)
                     : rc;
}

static int is_wal_segment(const char *name) {
  return strstr(name, ".wal") != NULL;
}

/* If the WAL ends below the table files' highest LSN, reads it into wal_entries. */
static int fold_wal_if_behind(repair *r) {
  uint64_t tables = 0;
  for (size_t i = 0; i < r->input_count; i++) {
    uint64_t max = highest_lsn(r->inputs[i]);
    if (max > tables) tables = max;
  }
  if (r->report->wal_last_lsn >= tables) return QX_OK;
  note(r,
       "the WAL ends at LSN %" PRIu64 ", below the table files' %" PRIu64
       ": its entries join the table files and a new log starts after them",
       r->report->wal_last_lsn, tables);
  int rc = qx_memtable_create(UINT64_MAX, &r->wal_entries);
  if (rc == QX_OK) rc = qx_wal_scan(r->wal_dir, 1, add_wal_entry, r->wal_entries, NULL);
  if (rc == QX_OK)
    rc = move_all_to_lost(r, r->wal_dir, is_wal_segment, "its entries are now in the table files");
  r->report->wal_first_lsn = r->report->wal_last_lsn = 0;
  return rc;
}

/* The merge's input: an iterator per kept table file, and one over the folded WAL. */
static int open_merge_input(repair *r, qx_iter **out) {
  size_t n = r->input_count + (r->wal_entries != NULL);
  qx_iter **children = calloc(n, sizeof *children);
  if (!children) return qx_fail(QX_ERR_NOMEM, "out of memory repairing");
  int rc = QX_OK;
  for (size_t i = 0; i < r->input_count && rc == QX_OK; i++)
    rc = qx_sst_iter_create(r->inputs[i], &children[i]);
  if (rc == QX_OK && r->wal_entries) rc = qx_memtable_iter_create(r->wal_entries, &children[n - 1]);
  rc = qx_merge_iter_finish(rc, children, n, out); /* unbuilt children are NULL */
  free(children);
  return rc;
}

static int merge_table_files(repair *r) {
  int rc = fold_wal_if_behind(r);
  if (rc != QX_OK || r->input_count == 0) return rc;
  qx_iter *it;
  rc = open_merge_input(r, &it);
  if (rc != QX_OK) return rc;
  note(r, "merging %zu table files into new ones", r->input_count);
  rc = qx_table_merge_run(&r->merge, it);
  qx_iter_destroy(it);
  r->report->table_max_lsn = r->merge.max_input_lsn;
  for (size_t i = 0; i < r->merge.count; i++)
    r->report->entries += r->merge.metas[i].entry_count;
  return rc;
}

/* ---- 3. Parquet ---- */

static int keep_parquet(repair *r, const char *path, qx_parquet_meta m) {
  char sql[PATH_MAX + 64];
  if (strchr(path, '\'')) return move_to_lost(r, path, "a path DuckDB cannot be given");
  snprintf(sql, sizeof sql, "SELECT count(*) FROM read_parquet('%s')", path);
  struct stat st;
  if (qx_duck_exec(r->con, sql, path, &m.rows) != QX_OK || stat(path, &st) != 0) {
    r->report->parquet_lost++;
    return move_to_lost(r, path, qx_last_error());
  }
  m.bytes = (uint64_t)st.st_size;
  r->report->parquet_kept++;
  if (m.last_lsn > r->parquet.olap_lsn) r->parquet.olap_lsn = m.last_lsn;
  return qx_parquet_edit_add(&r->parquet, &m);
}

static int examine_part(const char *path, const qx_parquet_meta *meta, int named, void *ctx) {
  repair *r = ctx;
  if (!named) return move_to_lost(r, path, "not a Parquet part file (a temporary)");
  return keep_parquet(r, path, *meta);
}

/* A merged file covers the LSN ranges of the files it replaced; a crash between the merge's
 * edit and their deletion leaves both. Keeps the widest. */
static int covered(const qx_parquet_edit *e, size_t i) {
  const qx_parquet_meta *m = &e->added[i];
  for (size_t j = 0; j < e->added_count; j++) {
    const qx_parquet_meta *o = &e->added[j];
    if (j != i && o->table_id == m->table_id && o->day == m->day && o->first_lsn <= m->first_lsn &&
        o->last_lsn >= m->last_lsn &&
        (o->first_lsn != m->first_lsn || o->last_lsn != m->last_lsn || j < i))
      return 1;
  }
  return 0;
}

static int drop_covered_parts(repair *r) {
  for (size_t i = 0; i < r->parquet.added_count;) {
    if (!covered(&r->parquet, i)) {
      i++;
      continue;
    }
    char path[PATH_MAX];
    qx_parquet_path(r->vs.olap_dir, &r->parquet.added[i], path, sizeof path);
    int rc = move_to_lost(r, path, "its records are in a merged file");
    if (rc != QX_OK) return rc;
    r->report->parquet_kept--;
    r->parquet.added[i] = r->parquet.added[--r->parquet.added_count];
  }
  return QX_OK;
}

static int collect_parquet(repair *r) {
  if (duckdb_open(NULL, &r->duck) != DuckDBSuccess ||
      duckdb_connect(r->duck, &r->con) != DuckDBSuccess)
    return qx_fail(QX_ERR_SQL, "cannot start DuckDB to read the Parquet files");
  r->parquet.has_olap_lsn = 1;
  int rc = qx_olap_each_part(r->vs.olap_dir, examine_part, r);
  return rc == QX_OK ? drop_covered_parts(r) : rc;
}

/* ---- 4 and 5: the new MANIFEST ---- */

static uint64_t choose_checkpoint(repair *r) {
  qx_db_repair_report *rep = r->report;
  uint64_t tables = rep->table_max_lsn;
  if (rep->wal_first_lsn == 0 || rep->wal_first_lsn - 1 <= tables) {
    if (rep->wal_first_lsn) return rep->wal_first_lsn - 1;
    return tables;
  }
  rep->lost_first_lsn = tables + 1;
  rep->lost_last_lsn = rep->wal_first_lsn - 1;
  note(r,
       "writes with LSN %" PRIu64 "..%" PRIu64 " are in neither the table files nor the WAL: "
       "lost",
       rep->lost_first_lsn, rep->lost_last_lsn);
  return rep->wal_first_lsn - 1;
}

static int build_edit(repair *r, qx_version_edit *edit) {
  *edit = (qx_version_edit){.has_checkpoint = 1, .checkpoint_lsn = choose_checkpoint(r)};
  edit->parquet = r->parquet;
  r->parquet = (qx_parquet_edit){0};
  for (size_t i = 0; i < r->merge.count; i++) {
    int rc = qx_edit_add(edit, QX_DB_LEVELS - 1, &r->merge.metas[i]);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

static int open_outputs(repair *r, qx_file **opened) {
  for (size_t i = 0; i < r->merge.count; i++) {
    int rc = qx_vset_open_table(&r->vs, &r->merge.metas[i], 0, &opened[i]);
    if (rc != QX_OK) return rc;
  }
  return QX_OK;
}

static int is_manifest(const char *name) {
  return strcmp(name, "CURRENT") == 0 || strncmp(name, "MANIFEST-", 9) == 0;
}

static int write_manifest(repair *r) {
  qx_version_edit edit;
  int rc = build_edit(r, &edit);
  qx_file **opened = calloc(r->merge.count + 1, sizeof *opened);
  if (!opened && rc == QX_OK) rc = qx_fail(QX_ERR_NOMEM, "out of memory repairing");
  if (rc == QX_OK) rc = open_outputs(r, opened);
  qx_version *empty = qx_version_create(), *v = NULL;
  if (!empty && rc == QX_OK) rc = qx_fail(QX_ERR_NOMEM, "out of memory repairing");
  if (rc == QX_OK) rc = qx_version_apply(empty, &edit, opened, r->merge.count, r->vs.olap_dir, &v);
  if (rc == QX_OK) rc = qx_fsync_dir(r->vs.sst_dir);
  if (rc == QX_OK)
    rc = move_all_to_lost(r, r->dir, is_manifest, "replaced by the repaired MANIFEST");
  uint64_t number = qx_vset_new_file_number(&r->vs);
  if (rc == QX_OK)
    rc = qx_manifest_create(r->dir, number, v, qx_vset_new_file_number(&r->vs), &r->totals,
                            &r->vs.manifest);
  for (size_t i = 0; opened && i < r->merge.count; i++)
    if (opened[i]) qx_file_unref(opened[i]);
  free(opened);
  if (v) qx_version_unref(v);
  if (empty) qx_version_unref(empty);
  qx_edit_free(&edit);
  return rc;
}

/* The merged inputs are obsolete once the new MANIFEST is durable. */
static void delete_inputs(repair *r) {
  for (size_t i = 0; i < r->input_count; i++) {
    char path[PATH_MAX];
    if (qx_vset_table_path(&r->vs, r->input_numbers[i], path, sizeof path) == QX_OK)
      qx_io_unlink(path);
  }
}

/* ---- the whole ---- */

static void read_old_totals(repair *r) {
  qx_live_files live;
  uint64_t torn;
  if (qx_read_live_files(r->dir, &live, &torn) != QX_OK) return;
  r->totals = live.totals;
  if (live.next_file_number > atomic_load(&r->vs.next_file_number))
    atomic_store(&r->vs.next_file_number, live.next_file_number);
  qx_edit_free(&live.all);
}

static int init(repair *r, const char *dir, const qx_db_options *options) {
  r->dir = dir;
  if (options)
    r->opt = *options;
  else
    qx_db_options_init(&r->opt);
  if (snprintf(r->wal_dir, sizeof r->wal_dir, "%s/wal", dir) >= (int)sizeof r->wal_dir ||
      snprintf(r->lost_dir, sizeof r->lost_dir, "%s/lost", dir) >= (int)sizeof r->lost_dir)
    return qx_fail(QX_ERR_INVALID_ARG, "data folder path too long: %s", dir);
  pthread_mutex_init(&r->mu, NULL);
  int rc = qx_vset_init(&r->vs, dir, 0, &r->mu);
  r->vs.counters = &r->counters;
  if (rc == QX_OK) rc = qx_block_cache_create(r->opt.block_cache_size, &r->cache);
  r->vs.cache = r->cache;
  r->merge = (qx_table_merge){.vs = &r->vs,
                              .output_level = QX_DB_LEVELS - 1,
                              /* no snapshot: only each key's newest version stays */
                              .oldest_snapshot = UINT64_MAX - 1,
                              .split_bytes = r->opt.sst_file_size};
  qx_sst_options_init(&r->merge.sst);
  r->merge.sst.compression = r->opt.compression;
  r->merge.sst.bloom_bits_per_key = r->opt.bloom_bits_per_key;
  return rc;
}

static void cleanup(repair *r) {
  for (size_t i = 0; i < r->input_count; i++)
    qx_sst_unref(r->inputs[i]);
  free(r->inputs);
  free(r->input_numbers);
  qx_table_merge_free(&r->merge);
  if (r->wal_entries) qx_memtable_unref(r->wal_entries);
  qx_parquet_edit_free(&r->parquet);
  if (r->con) duckdb_disconnect(&r->con);
  if (r->duck) duckdb_close(&r->duck);
  qx_vset_free(&r->vs);
  if (r->cache) qx_block_cache_destroy(r->cache);
}

static int run(repair *r) {
  qx_version *empty = qx_version_create();
  if (!empty) return qx_fail(QX_ERR_NOMEM, "out of memory repairing");
  r->merge.version = empty;
  read_old_totals(r);
  int rc = qx_mkdir_p(r->vs.sst_dir);
  if (rc == QX_OK) rc = repair_wal(r);
  if (rc == QX_OK) rc = collect_table_files(r);
  if (rc == QX_OK) rc = merge_table_files(r);
  if (rc == QX_OK) rc = collect_parquet(r);
  if (rc == QX_OK) rc = write_manifest(r);
  /* On a failure the new files stay: a MANIFEST may already name them, and a second repair
   * takes them as inputs like any other table file. */
  if (rc == QX_OK) delete_inputs(r);
  qx_version_unref(empty);
  return rc;
}

int qx_db_repair(const char *dir, const qx_db_options *options, qx_repair_note_fn note_fn,
                 void *note_ctx, qx_db_repair_report *report) {
  qx_db_repair_report scratch = {0};
  repair r = {.note = note_fn, .note_ctx = note_ctx, .report = report ? report : &scratch};
  *r.report = (qx_db_repair_report){0};
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return qx_fail(QX_ERR_NOT_FOUND, "%s: no such folder", dir);
  int lock_fd = -1;
  int rc = init(&r, dir, options);
  if (rc == QX_OK) rc = qx_dirlock_acquire(dir, &lock_fd);
  if (rc == QX_OK) rc = run(&r);
  cleanup(&r);
  qx_dirlock_release(lock_fd);
  return rc;
}
