/* Test control of the file I/O layer (src/util/io.h): count calls by kind, fail a chosen call,
 * and simulate a power loss. Only tests (and io.c) include this header. The technique is that of
 * LevelDB's FaultInjectionTestEnv and SQLite's I/O error tests.
 *
 * Counting and failing. After qx_fault_count_calls(), every call through the layer is counted by
 * kind. qx_fault_arm() makes the nth call of a kind from then on fail with a chosen errno (once,
 * or from then on), or write half its bytes first (a short write, as a filling disk does), or
 * cut the power instead of running. A test first runs its workload counting, reads
 * qx_fault_calls(kind), then sweeps n over 1..count, each time from a fresh folder, and after
 * each run reopens without faults (qx_fault_reset()) to check what survived.
 *
 * Power loss. qx_fault_track_power_loss() makes the layer record, from then on, what every
 * change to a file overwrote since that file's last fsync/fdatasync, and which creates, renames,
 * unlinks and mkdirs happened in a directory since that directory's last fsync. Everything on
 * disk when tracking starts counts as durable, so arm it before opening anything. Then
 * qx_fault_power_loss() (called directly, or by a rule at the nth call of a kind; any thread):
 *  1. stops all I/O through the layer: every other thread that enters it blocks for good;
 *  2. reverts every file change not yet synced: writes, truncations and preallocations (the
 *     model can let the disk keep the oldest of them per file: written_back below). The undo is
 *     exact for appended files and for preallocated zero-filled ones alike: each change saves
 *     the bytes it overwrote and the size the file had;
 *  3. undoes the directory operations not yet made durable by an fsync of their directory,
 *     newest first, except the oldest names_kept of them, which the disk kept (a journaling
 *     file system commits metadata in order). names_kept = 0 is the strict POSIX reading;
 *     QX_FAULT_KEEP_ALL_NAMES keeps every name while unsynced data is still lost: a segment
 *     renamed into place survives while the previous segment's unsynced tail is gone;
 *  4. _exit(QX_FAULT_POWER_LOSS_EXIT). The parent process then reopens the folder as a machine
 *     does after a power cut.
 * A rename between two directories is durable once both are synced. Undoing a create unlinks
 * the file, undoing a mkdir removes the directory if it is empty, undoing a rename renames back
 * and restores the file it replaced, undoing an unlink recreates the file with its durable
 * content. Not modelled: a page of a file written back before an earlier page of the same file
 * (the disk keeps a prefix of a file's changes, in the order they were made), changes made
 * without the layer (a store through a shared mapping, DuckDB's own Parquet writes, which the
 * layer sees only when they are synced and renamed), and lost metadata of files whose data was
 * synced other than their names.
 *
 * How the engine's crash, model and fault tests use it: fork a child; in the child call
 * qx_fault_track_power_loss(&model) and qx_fault_arm(&(qx_fault_rule){.kind = ..., .nth = n,
 * .action = QX_FAULT_POWER_LOSS}); open the folder and run the workload, reporting every
 * acknowledged write to the parent through a pipe; in the parent wait for the child
 * (WEXITSTATUS == QX_FAULT_POWER_LOSS_EXIT), reopen and check that every write acknowledged at
 * `group` is there. Sweep n, the kind and the model. Failure sweeps run in one process:
 * qx_fault_arm, run, qx_fault_reset, reopen, check.
 *
 * Thread safety: every function may be called from any thread. The rule, the counters and the
 * tracked state are guarded by one mutex (see io_fault.c). */
#ifndef QX_UTIL_IO_FAULT_H
#define QX_UTIL_IO_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum qx_io_kind {
  QX_IO_WRITE,     /* pwrite, pwritev */
  QX_IO_SYNC,      /* fsync, fdatasync, of files and of directories */
  QX_IO_RENAME,    /* rename */
  QX_IO_FALLOCATE, /* posix_fallocate */
  QX_IO_CREATE,    /* open with O_CREAT, mkdir */
  QX_IO_UNLINK,    /* unlink */
  QX_IO_TRUNCATE,  /* ftruncate, open with O_TRUNC */
  QX_IO_KINDS
} qx_io_kind;

typedef enum qx_fault_action {
  QX_FAULT_FAIL,       /* the call fails with error and changes nothing */
  QX_FAULT_SHORT,      /* a write writes its first half and returns that count; other kinds
                          fail as with QX_FAULT_FAIL */
  QX_FAULT_POWER_LOSS, /* instead of the call, qx_fault_power_loss() */
} qx_fault_action;

typedef struct qx_fault_rule {
  qx_io_kind kind;
  uint64_t nth; /* 1: the next call of kind after arming */
  qx_fault_action action;
  int error;       /* errno the call fails with (ENOSPC, EIO, ...) */
  int persist;     /* 0: only the nth call; 1: every call of kind from the nth on */
  int this_thread; /* count only the calls of the thread that armed the rule */
} qx_fault_rule;

#define QX_FAULT_KEEP_ALL_NAMES SIZE_MAX
#define QX_FAULT_POWER_LOSS_EXIT 86 /* the exit status of a process whose power was cut */

typedef struct qx_power_loss_model {
  /* Of the directory operations not yet made durable, how many (oldest first) survive. */
  size_t names_kept;
  /* How many of a file's unsynced changes (oldest first) the disk kept: the kernel writes dirty
   * pages back on its own, in no set order across files. Called at the power loss once per file
   * with unsynced changes, with the path it has then, on the dying thread; it must not call into
   * the layer. NULL: every unsynced change is lost. */
  size_t (*written_back)(const char *path, size_t unsynced_changes, void *ctx);
  void *ctx;
} qx_power_loss_model;

/* Disarms everything and forgets counts and tracked state: the layer is a pass-through again. */
void qx_fault_reset(void);

/* Starts counting calls (by kind, and by kind per thread) without failing any. */
void qx_fault_count_calls(void);
uint64_t qx_fault_calls(qx_io_kind kind);        /* all threads, since the last reset */
uint64_t qx_fault_thread_calls(qx_io_kind kind); /* the calling thread, since the last reset */

/* Replaces the armed rule (counting starts now) and starts counting. */
void qx_fault_arm(const qx_fault_rule *rule);

/* Starts tracking for a simulated power loss under model (copied). */
void qx_fault_track_power_loss(const qx_power_loss_model *model);

/* Cuts the power: see the file comment. Never returns. */
_Noreturn void qx_fault_power_loss(void);

/* ---- the layer's side, for io.c only ---------------------------------------------------------
 * An armed call enters with its kind (QX_IO_KINDS: a call of no kind, e.g. an open that neither
 * creates nor truncates), learns whether to fail, runs the call with the tracking hooks around it
 * and leaves. While tracking, the layer's mutex is held from enter to leave, so a power loss
 * never falls in the middle of a call and its record. */
typedef struct qx_fault_turn {
  int error;    /* non-zero: fail the call with this errno */
  int short_io; /* with error: write half first */
  int tracking; /* the hooks below must be called; the mutex is held */
} qx_fault_turn;

qx_fault_turn qx_fault_enter(qx_io_kind kind);
void qx_fault_leave(const qx_fault_turn *turn);

/* Hooks, each REQUIRES turn.tracking. A "before" hook saves what the call may destroy; an
 * "after" hook records a call that succeeded. */
typedef struct qx_fault_file qx_fault_file; /* a file whose changes are tracked */

/* A write of length bytes at offset, or (length < 0) a truncation to offset. */
void qx_fault_before_change(int fd, off_t offset, off_t length);
void qx_fault_before_resize(int fd); /* preallocation: only the size changes */
void qx_fault_after_sync(int fd);
int qx_fault_path_exists(const char *path);
void qx_fault_after_create(const char *path); /* a file the call created */
void qx_fault_after_mkdir(const char *path);
/* Pins the file path names (NULL if none), so that undoing its removal can recreate it. */
qx_fault_file *qx_fault_before_remove(const char *path);
void qx_fault_after_rename(const char *from, const char *to, qx_fault_file *replaced);
void qx_fault_after_unlink(const char *path, qx_fault_file *removed);
void qx_fault_unpin(qx_fault_file *pinned); /* the call failed */

#endif
