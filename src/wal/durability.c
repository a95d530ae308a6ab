/* The names of the durabilities (qaxdb/wal.h), as settings and flags spell them. */
#include <strings.h>

#include "qaxdb/wal.h"
#include "util/error.h"

static const char *const names[] = {"none", "group", "replicated"};

int qx_durability_parse(const char *text, qx_durability *out) {
  for (int i = 0; i < 3; i++)
    if (strcasecmp(text, names[i]) == 0) {
      *out = (qx_durability)i;
      return QX_OK;
    }
  return qx_fail(QX_ERR_INVALID_ARG, "durability %s is none of none, group and replicated", text);
}

const char *qx_durability_name(qx_durability durability) {
  return (unsigned)durability < 3 ? names[durability] : "unknown";
}
