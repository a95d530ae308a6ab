/* The fault plan and the power-loss simulation behind the file I/O layer (see io_fault.h for
 * what a test sees, io.c for the calls that consult this file).
 *
 * Thread-safety contract: the fast path of every wrapper reads qx_io_fault_armed without a lock;
 * everything else here (the rule, the counters, the tracked files and directory operations) is
 * guarded by `mu`. Invariants:
 *  1. qx_io_fault_armed is non-zero while counting, a rule or tracking is active, so calls made
 *     after arming cannot bypass them.
 *  2. While tracking, `mu` is held from qx_fault_enter to qx_fault_leave, across the system call:
 *     a change and its undo record are one step as far as a power loss is concerned.
 *  3. Once a power loss has begun, `mu` is never released: every thread that enters the layer
 *     stops there until the process exits.
 *  4. A tracked file without unsynced changes and without pins is forgotten (its descriptor
 *     closed), and a directory operation is forgotten once durable, so the tracked state is
 *     bounded by what is not durable. */
#include "util/io_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"

atomic_int qx_io_fault_armed;

/* What one change to a file destroyed: the bytes it overwrote (old, NULL when they were all
 * zero) and the size the file had. */
typedef struct change {
  off_t offset;
  size_t length;
  uint8_t *old;
  off_t size_before;
} change;

struct qx_fault_file {
  dev_t dev;
  ino_t ino;
  int fd;   /* our own read-write descriptor of the inode, whatever its names become */
  int pins; /* directory operations that may have to recreate the file from fd */
  change *changes;
  size_t change_count, change_cap;
};

typedef struct dir_id {
  dev_t dev;
  ino_t ino;
} dir_id;

typedef enum op_type { OP_CREATE, OP_MKDIR, OP_RENAME, OP_UNLINK } op_type;

/* A directory operation not yet durable: it waits for an fsync of each directory in dirs. */
typedef struct name_op {
  op_type type;
  char *path, *to; /* to: a rename's new name */
  dir_id dirs[2];
  int pending[2];
  qx_fault_file *file; /* unlink: the file removed; rename: the file `to` replaced */
} name_op;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int tracking; /* written under mu; read without it by qx_io_mapped_writes_allowed */

static struct {
  int rule_armed;
  qx_fault_rule rule;
  pthread_t rule_thread;
  uint64_t rule_calls;
  uint64_t calls[QX_IO_KINDS];
  uint64_t epoch; /* bumped by reset: per-thread counters older than it read as zero */
  qx_power_loss_model model;
  qx_fault_file **files;
  size_t file_count, file_cap;
  name_op *ops;
  size_t op_count, op_cap;
} plan;

static _Thread_local uint64_t thread_calls[QX_IO_KINDS];
static _Thread_local uint64_t thread_epoch;

/* The tracked state cannot be kept (out of memory, /proc unavailable): the simulation would be
 * wrong, so the test process stops loudly. */
static _Noreturn void tracking_broken(const char *what, const char *path) {
  fprintf(stderr, "qx_fault: cannot track %s %s: %s\n", what, path ? path : "", strerror(errno));
  abort();
}

static void *grow(void *items, size_t *cap, size_t need, size_t item_size) {
  if (need <= *cap) return items;
  size_t cap2 = *cap ? *cap * 2 : 16;
  void *p = realloc(items, cap2 * item_size);
  if (!p) tracking_broken("state", "(out of memory)");
  *cap = cap2;
  return p;
}

/* ---- counting and the rule ---------------------------------------------------------------- */

static void sync_thread_epoch(void) {
  if (thread_epoch == plan.epoch) return;
  memset(thread_calls, 0, sizeof thread_calls);
  thread_epoch = plan.epoch;
}

static int rule_fires(qx_io_kind kind) {
  const qx_fault_rule *r = &plan.rule;
  if (!plan.rule_armed || r->kind != kind) return 0;
  if (r->this_thread && !pthread_equal(pthread_self(), plan.rule_thread)) return 0;
  uint64_t n = ++plan.rule_calls;
  return n == r->nth || (r->persist && n > r->nth);
}

qx_fault_turn qx_fault_enter(qx_io_kind kind) {
  qx_fault_turn t = {0, 0, 0};
  pthread_mutex_lock(&mu);
  if (kind < QX_IO_KINDS) {
    sync_thread_epoch();
    plan.calls[kind]++;
    thread_calls[kind]++;
    if (rule_fires(kind)) {
      if (plan.rule.action == QX_FAULT_POWER_LOSS) {
        pthread_mutex_unlock(&mu);
        qx_fault_power_loss();
      }
      t.error = plan.rule.error ? plan.rule.error : EIO;
      t.short_io = plan.rule.action == QX_FAULT_SHORT && kind == QX_IO_WRITE;
    }
  }
  t.tracking = atomic_load_explicit(&tracking, memory_order_relaxed);
  if (!t.tracking) pthread_mutex_unlock(&mu);
  return t;
}

void qx_fault_leave(const qx_fault_turn *turn) {
  if (turn->tracking) pthread_mutex_unlock(&mu);
}

/* ---- tracked files ------------------------------------------------------------------------ */

static qx_fault_file *find_file(const struct stat *st) {
  for (size_t i = 0; i < plan.file_count; i++)
    if (plan.files[i]->dev == st->st_dev && plan.files[i]->ino == st->st_ino) return plan.files[i];
  return NULL;
}

/* Starts tracking the inode of st, read and written through a descriptor of our own opened
 * from `source` (a path, or /proc/self/fd/N for a descriptor opened write-only). */
static qx_fault_file *add_file(const struct stat *st, const char *source) {
  qx_fault_file *f = calloc(1, sizeof *f);
  if (!f) tracking_broken("file", source);
  f->dev = st->st_dev;
  f->ino = st->st_ino;
  f->fd = open(source, O_RDWR | O_CLOEXEC);
  if (f->fd < 0) tracking_broken("file", source);
  plan.files = grow(plan.files, &plan.file_cap, plan.file_count + 1, sizeof *plan.files);
  plan.files[plan.file_count++] = f;
  return f;
}

static qx_fault_file *file_of_fd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
  qx_fault_file *f = find_file(&st);
  if (f) return f;
  char source[64];
  snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
  return add_file(&st, source);
}

static void forget_if_clean(qx_fault_file *f) {
  if (!f || f->change_count || f->pins) return;
  for (size_t i = 0; i < plan.file_count; i++) {
    if (plan.files[i] != f) continue;
    plan.files[i] = plan.files[--plan.file_count];
    break;
  }
  close(f->fd);
  free(f->changes);
  free(f);
}

static off_t size_of(const qx_fault_file *f) {
  struct stat st;
  if (fstat(f->fd, &st) != 0) tracking_broken("the size of a file", NULL);
  return st.st_size;
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

void qx_fault_before_change(int fd, off_t offset, off_t length) {
  qx_fault_file *f = file_of_fd(fd);
  if (!f) return;
  off_t size = size_of(f);
  off_t end = length < 0 || offset + length > size ? size : offset + length;
  change c = {offset, 0, NULL, size};
  if (offset < end) {
    c.length = (size_t)(end - offset);
    c.old = malloc(c.length);
    if (!c.old || pread(f->fd, c.old, c.length, offset) != (ssize_t)c.length)
      tracking_broken("the old bytes of a file", NULL);
    if (all_zero(c.old, c.length)) {
      free(c.old);
      c.old = NULL;
    }
  }
  f->changes = grow(f->changes, &f->change_cap, f->change_count + 1, sizeof *f->changes);
  f->changes[f->change_count++] = c;
}

void qx_fault_before_resize(int fd) {
  qx_fault_before_change(fd, 0, 0);
}

static void drop_changes(qx_fault_file *f) {
  for (size_t i = 0; i < f->change_count; i++)
    free(f->changes[i].old);
  f->change_count = 0;
}

/* ---- directory operations ----------------------------------------------------------------- */

static dir_id parent_of(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else
    slash[slash == dir ? 1 : 0] = '\0';
  struct stat st;
  if (stat(dir, &st) != 0) tracking_broken("directory", dir);
  return (dir_id){st.st_dev, st.st_ino};
}

static char *copy_path(const char *path) {
  char *p = path ? strdup(path) : NULL;
  if (path && !p) tracking_broken("path", path);
  return p;
}

static void add_op(op_type type, const char *path, const char *to, qx_fault_file *file) {
  name_op op = {type, copy_path(path), copy_path(to), {parent_of(path), {0, 0}}, {1, 0}, file};
  if (to) {
    op.dirs[1] = parent_of(to);
    op.pending[1] = 1;
  }
  plan.ops = grow(plan.ops, &plan.op_cap, plan.op_count + 1, sizeof *plan.ops);
  plan.ops[plan.op_count++] = op;
}

static void free_op(name_op *op) {
  free(op->path);
  free(op->to);
  if (op->file) {
    op->file->pins--;
    forget_if_clean(op->file);
  }
}

/* An fsync of directory d makes every operation recorded in it so far durable there. */
static void directory_synced(dir_id d) {
  size_t kept = 0;
  for (size_t i = 0; i < plan.op_count; i++) {
    name_op *op = &plan.ops[i];
    for (int k = 0; k < 2; k++)
      if (op->dirs[k].dev == d.dev && op->dirs[k].ino == d.ino) op->pending[k] = 0;
    if (op->pending[0] || op->pending[1])
      plan.ops[kept++] = *op;
    else
      free_op(op);
  }
  plan.op_count = kept;
}

void qx_fault_after_sync(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    directory_synced((dir_id){st.st_dev, st.st_ino});
    return;
  }
  qx_fault_file *f = find_file(&st);
  if (!f) return;
  drop_changes(f);
  forget_if_clean(f);
}

int qx_fault_path_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

void qx_fault_after_create(const char *path) {
  add_op(OP_CREATE, path, NULL, NULL);
}

void qx_fault_after_mkdir(const char *path) {
  add_op(OP_MKDIR, path, NULL, NULL);
}

qx_fault_file *qx_fault_before_remove(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
  qx_fault_file *f = find_file(&st);
  if (!f) f = add_file(&st, path);
  f->pins++;
  return f;
}

void qx_fault_unpin(qx_fault_file *pinned) {
  if (!pinned) return;
  pinned->pins--;
  forget_if_clean(pinned);
}

void qx_fault_after_rename(const char *from, const char *to, qx_fault_file *replaced) {
  add_op(OP_RENAME, from, to, replaced);
}

void qx_fault_after_unlink(const char *path, qx_fault_file *removed) {
  add_op(OP_UNLINK, path, NULL, removed);
}

/* ---- the power loss ----------------------------------------------------------------------- */

/* Puts back what change c destroyed, within the first `size` bytes (the rest is cut off). */
static void restore(const qx_fault_file *f, const change *c, off_t size) {
  static const uint8_t zeros[1 << 16];
  off_t end = c->offset + (off_t)c->length < size ? c->offset + (off_t)c->length : size;
  for (off_t at = c->offset; at < end;) {
    size_t n = (size_t)(end - at);
    if (!c->old && n > sizeof zeros) n = sizeof zeros;
    const uint8_t *src = c->old ? c->old + (at - c->offset) : zeros;
    ssize_t w = pwrite(f->fd, src, n, at);
    if (w <= 0) tracking_broken("a reverted file", NULL);
    at += w;
  }
}

static void revert_file(qx_fault_file *f) {
  size_t kept = 0;
  if (plan.model.written_back) {
    char path[PATH_MAX] = "", link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", f->fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
    kept = plan.model.written_back(path, f->change_count, plan.model.ctx);
  }
  if (kept >= f->change_count) return;
  off_t size = f->changes[kept].size_before;
  for (size_t i = f->change_count; i-- > kept;)
    restore(f, &f->changes[i], size);
  if (ftruncate(f->fd, size) != 0) tracking_broken("a reverted file", NULL);
}

static void recreate(const char *path, const qx_fault_file *f) {
  int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) tracking_broken("a file to recreate", path);
  uint8_t buf[1 << 16];
  ssize_t n;
  for (off_t at = 0; (n = pread(f->fd, buf, sizeof buf, at)) > 0; at += n)
    if (pwrite(out, buf, (size_t)n, at) != n) tracking_broken("a file to recreate", path);
  close(out);
}

/* Best effort: an undo that cannot apply (a directory no longer empty) leaves things as they
 * are, as a file system check would. */
static void undo(const name_op *op) {
  switch (op->type) {
  case OP_CREATE:
    unlink(op->path);
    break;
  case OP_MKDIR:
    rmdir(op->path);
    break;
  case OP_RENAME:
    if (rename(op->to, op->path) == 0 && op->file) recreate(op->to, op->file);
    break;
  case OP_UNLINK:
    if (op->file) recreate(op->path, op->file);
    break;
  }
}

_Noreturn void qx_fault_power_loss(void) {
  atomic_store(&qx_io_fault_armed, 1);
  pthread_mutex_lock(&mu); /* never released: see invariant 3 */
  if (atomic_load(&tracking)) {
    for (size_t i = 0; i < plan.file_count; i++)
      revert_file(plan.files[i]);
    size_t kept = plan.model.names_kept < plan.op_count ? plan.model.names_kept : plan.op_count;
    for (size_t i = plan.op_count; i-- > kept;)
      undo(&plan.ops[i]);
  }
  _exit(QX_FAULT_POWER_LOSS_EXIT);
}

/* ---- test control ------------------------------------------------------------------------- */

void qx_fault_reset(void) {
  pthread_mutex_lock(&mu);
  atomic_store(&qx_io_fault_armed, 0);
  atomic_store(&tracking, 0);
  for (size_t i = 0; i < plan.op_count; i++) {
    free(plan.ops[i].path);
    free(plan.ops[i].to);
  }
  for (size_t i = 0; i < plan.file_count; i++) {
    drop_changes(plan.files[i]);
    close(plan.files[i]->fd);
    free(plan.files[i]->changes);
    free(plan.files[i]);
  }
  free(plan.ops);
  free(plan.files);
  uint64_t epoch = plan.epoch + 1;
  memset(&plan, 0, sizeof plan);
  plan.epoch = epoch;
  pthread_mutex_unlock(&mu);
}

void qx_fault_count_calls(void) {
  atomic_store(&qx_io_fault_armed, 1);
}

uint64_t qx_fault_calls(qx_io_kind kind) {
  pthread_mutex_lock(&mu);
  uint64_t n = plan.calls[kind];
  pthread_mutex_unlock(&mu);
  return n;
}

uint64_t qx_fault_thread_calls(qx_io_kind kind) {
  pthread_mutex_lock(&mu);
  sync_thread_epoch();
  uint64_t n = thread_calls[kind];
  pthread_mutex_unlock(&mu);
  return n;
}

void qx_fault_arm(const qx_fault_rule *rule) {
  pthread_mutex_lock(&mu);
  plan.rule = *rule;
  plan.rule_armed = 1;
  plan.rule_thread = pthread_self();
  plan.rule_calls = 0;
  atomic_store(&qx_io_fault_armed, 1);
  pthread_mutex_unlock(&mu);
}

void qx_fault_track_power_loss(const qx_power_loss_model *model) {
  pthread_mutex_lock(&mu);
  plan.model = *model;
  atomic_store(&tracking, 1);
  atomic_store(&qx_io_fault_armed, 1);
  pthread_mutex_unlock(&mu);
}

int qx_io_mapped_writes_allowed(void) {
  return !atomic_load_explicit(&tracking, memory_order_relaxed);
}
