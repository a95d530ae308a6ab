/* The epochs of a replicated data folder (<data>/EPOCHS, docs/formats/replication.md): every
 * promotion starts a new epoch at the next LSN, so that the history says which primary wrote
 * each LSN. A node whose log goes past where its epoch ended in the primary's history has
 * writes nobody else has (it diverged) and is rebuilt from a copy of the primary. */
#ifndef QX_REPL_EPOCHS_H
#define QX_REPL_EPOCHS_H

#include <stdint.h>

#define QX_EPOCHS_FILE "EPOCHS"
#define QX_EPOCHS_MAX 256 /* epochs kept; older ones are forgotten (no replica is that old) */

typedef struct qx_epoch_start {
  uint64_t epoch, first_lsn;
} qx_epoch_start;

typedef struct qx_epochs {
  uint32_t count;
  qx_epoch_start at[QX_EPOCHS_MAX]; /* increasing epochs and first LSNs */
} qx_epochs;

/* Reads dir's EPOCHS; a folder without one is in epoch 1 from LSN 1. QX_ERR_CORRUPT naming the
 * file and line if it is damaged. */
int qx_epochs_load(const char *dir, qx_epochs *out);
/* Writes it whole, synced, through a temporary file and a rename. */
int qx_epochs_save(const char *dir, const qx_epochs *h);

uint64_t qx_epochs_current(const qx_epochs *h);
/* Starts epoch at first_lsn (the oldest epoch goes if the history is full). epoch must be
 * greater than the current one. */
int qx_epochs_begin(qx_epochs *h, uint64_t epoch, uint64_t first_lsn);

/* The epoch that wrote lsn (the newest one that began at or before it). */
qx_epoch_start qx_epochs_of_lsn(const qx_epochs *h, uint64_t lsn);

/* Whether a log in epoch `epoch` (which began at first_lsn) ending at last_lsn is a prefix of
 * the log whose history is h: 1 yes, 0 it diverged (h does not have that epoch at that LSN,
 * or it ended before last_lsn). */
int qx_epochs_has_prefix(const qx_epochs *h, uint64_t epoch, uint64_t first_lsn, uint64_t last_lsn);

#endif
