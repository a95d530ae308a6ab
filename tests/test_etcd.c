/* The etcd client (src/repl/etcd.h) against a real etcd with fast timings: leases, get/put,
 * create-if-absent, compare-and-swap, prefix listing, lease expiry, unreachable endpoints and
 * moving on to the next endpoint of the list. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "etcd_proc.h"
#include "repl/etcd.h"

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_leases_and_keys(qx_etcd *etcd) {
  int64_t lease = 0, mod = 0, got_lease = 0;
  int ttl = 0;
  CHECK_OK(qx_etcd_lease_grant(etcd, 2, &lease, &ttl));
  CHECK(lease != 0);
  CHECK_EQ_U64(ttl, 2);
  CHECK_OK(qx_etcd_put(etcd, "qax/leader", "node1", 5, lease));
  char buf[64];
  size_t len = 0;
  CHECK_OK(qx_etcd_get(etcd, "qax/leader", buf, sizeof buf, &len, &mod, &got_lease));
  CHECK_EQ_U64(len, 5);
  CHECK_STR(buf, "node1");
  CHECK(mod > 0);
  CHECK_EQ_U64(got_lease, lease);

  CHECK_RC(qx_etcd_create(etcd, "qax/leader", "node2", 5, 0), QX_ERR_EXISTS);
  CHECK_OK(qx_etcd_get(etcd, "qax/leader", buf, sizeof buf, &len, NULL, NULL));
  CHECK_STR(buf, "node1");
  CHECK_OK(qx_etcd_create(etcd, "qax/config", "{}", 2, 0));

  ttl = 0;
  CHECK_OK(qx_etcd_lease_keepalive(etcd, lease, &ttl));
  CHECK(ttl > 0 && ttl <= 2);
  CHECK_OK(qx_etcd_lease_revoke(etcd, lease));
  CHECK_RC(qx_etcd_get(etcd, "qax/leader", buf, sizeof buf, &len, NULL, NULL), QX_ERR_NOT_FOUND);
  CHECK_RC(qx_etcd_lease_keepalive(etcd, lease, &ttl), QX_ERR_NOT_FOUND);
  CHECK_RC(qx_etcd_lease_revoke(etcd, lease), QX_ERR_NOT_FOUND);
  CHECK(strstr(qx_last_error(), "lease not found") != NULL); /* etcd's own message */
}

static void test_cas(qx_etcd *etcd) {
  int64_t mod = 0, stale = 0;
  char buf[16];
  size_t len;
  CHECK_OK(qx_etcd_cas(etcd, "qax/term", 0, "1", 1, 0)); /* absent: 0 matches */
  CHECK_RC(qx_etcd_cas(etcd, "qax/term", 0, "1", 1, 0), QX_ERR_EXISTS);
  CHECK_OK(qx_etcd_get(etcd, "qax/term", buf, sizeof buf, &len, &stale, NULL));
  CHECK_OK(qx_etcd_put(etcd, "qax/term", "2", 1, 0));
  CHECK_OK(qx_etcd_get(etcd, "qax/term", buf, sizeof buf, &len, &mod, NULL));
  CHECK(mod > stale);
  CHECK_RC(qx_etcd_cas(etcd, "qax/term", stale, "3", 1, 0), QX_ERR_EXISTS);
  CHECK_OK(qx_etcd_cas(etcd, "qax/term", mod, "3", 1, 0));
  CHECK_OK(qx_etcd_get(etcd, "qax/term", buf, sizeof buf, &len, NULL, NULL));
  CHECK_STR(buf, "3");
}

static void test_values(qx_etcd *etcd) {
  char buf[8];
  size_t len = 99;
  CHECK_OK(qx_etcd_put(etcd, "qax/empty", "", 0, 0)); /* the gateway omits an empty value */
  CHECK_OK(qx_etcd_get(etcd, "qax/empty", buf, sizeof buf, &len, NULL, NULL));
  CHECK_EQ_U64(len, 0);
  CHECK_STR(buf, "");
  CHECK_OK(qx_etcd_put(etcd, "qax/big", "0123456789", 10, 0));
  CHECK_RC(qx_etcd_get(etcd, "qax/big", buf, sizeof buf, &len, NULL, NULL), QX_ERR_TOO_LARGE);
  CHECK_EQ_U64(len, 10);
  CHECK_OK(qx_etcd_put(etcd, "qax/exact", "01234567", 8, 0)); /* fits, without the NUL */
  CHECK_OK(qx_etcd_get(etcd, "qax/exact", buf, sizeof buf, &len, NULL, NULL));
  CHECK(len == 8 && memcmp(buf, "01234567", 8) == 0);
  CHECK_OK(qx_etcd_delete(etcd, "qax/big"));
  CHECK_RC(qx_etcd_get(etcd, "qax/big", buf, sizeof buf, &len, NULL, NULL), QX_ERR_NOT_FOUND);
  CHECK_OK(qx_etcd_delete(etcd, "qax/big"));
}

typedef struct listing {
  char text[256];
  int stop_after;
} listing;

static int collect(const char *key, const char *value, size_t len, void *ctx) {
  listing *l = ctx;
  size_t used = strlen(l->text);
  snprintf(l->text + used, sizeof l->text - used, "%s=%.*s;", key, (int)len, value);
  return --l->stop_after == 0 ? 42 : 0;
}

static void test_prefix(qx_etcd *etcd) {
  CHECK_OK(qx_etcd_put(etcd, "svc/b", "2", 1, 0));
  CHECK_OK(qx_etcd_put(etcd, "svc/a", "1", 1, 0));
  CHECK_OK(qx_etcd_put(etcd, "svc/c", "", 0, 0));
  CHECK_OK(qx_etcd_put(etcd, "svc", "outside", 7, 0));
  CHECK_OK(qx_etcd_put(etcd, "svc0", "outside", 7, 0));
  listing l = {"", -1};
  CHECK_OK(qx_etcd_get_prefix(etcd, "svc/", collect, &l));
  CHECK_STR(l.text, "svc/a=1;svc/b=2;svc/c=;");
  listing stopped = {"", 2};
  CHECK_RC(qx_etcd_get_prefix(etcd, "svc/", collect, &stopped), 42);
  CHECK_STR(stopped.text, "svc/a=1;svc/b=2;");
  listing none = {"", -1};
  CHECK_OK(qx_etcd_get_prefix(etcd, "nothing/", collect, &none));
  CHECK_STR(none.text, "");
}

/* A lease that is not renewed expires and takes its key; etcd's timing is not asserted. */
static void test_expiry(qx_etcd *etcd) {
  int64_t lease = 0;
  CHECK_OK(qx_etcd_lease_grant(etcd, 1, &lease, NULL));
  CHECK_OK(qx_etcd_put(etcd, "qax/ephemeral", "x", 1, lease));
  char buf[8];
  size_t len;
  int rc = QX_OK;
  for (int i = 0; i < 100 && rc == QX_OK; i++) {
    sleep_ms(100);
    rc = qx_etcd_get(etcd, "qax/ephemeral", buf, sizeof buf, &len, NULL, NULL);
  }
  CHECK_RC(rc, QX_ERR_NOT_FOUND);
  CHECK_RC(qx_etcd_lease_keepalive(etcd, lease, NULL), QX_ERR_NOT_FOUND);
}

static void test_endpoints(const char *live) {
  char dead[64], list[160];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d", etcd_proc_free_port());
  qx_etcd *etcd = NULL;
  CHECK_OK(qx_etcd_open(dead, 2000, &etcd));
  char buf[8];
  size_t len;
  CHECK_RC(qx_etcd_get(etcd, "qax/term", buf, sizeof buf, &len, NULL, NULL), QX_ERR_IO);
  CHECK(strstr(qx_last_error(), dead) != NULL);
  qx_etcd_close(etcd);

  snprintf(list, sizeof list, "%s, %s/", dead, live);
  CHECK_OK(qx_etcd_open(list, 2000, &etcd));
  CHECK_OK(qx_etcd_get(etcd, "qax/term", buf, sizeof buf, &len, NULL, NULL));
  CHECK_STR(buf, "3");
  CHECK_OK(qx_etcd_put(etcd, "qax/term", "4", 1, 0)); /* stays on the live endpoint */
  qx_etcd_close(etcd);

  CHECK_RC(qx_etcd_open("127.0.0.1:2379", 1000, &etcd), QX_ERR_INVALID_ARG);
  CHECK(etcd == NULL);
  CHECK_RC(qx_etcd_open(dead, 0, &etcd), QX_ERR_INVALID_ARG);
}

/* A listener that accepts connections (the kernel's backlog) and never answers. */
static void test_timeout(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
  char silent[64];
  snprintf(silent, sizeof silent, "http://127.0.0.1:%d", ntohs(a.sin_port));
  qx_etcd *etcd = NULL;
  CHECK_OK(qx_etcd_open(silent, 300, &etcd));
  if (etcd) CHECK_RC(qx_etcd_put(etcd, "qax/x", "1", 1, 0), QX_ERR_TIMEOUT);
  CHECK(strstr(qx_last_error(), silent) != NULL);
  qx_etcd_close(etcd);
  if (fd >= 0) close(fd);
}

int main(void) {
  char dir[PATH_MAX];
  test_tmpdir(dir, "etcd");
  etcd_proc proc;
  int rc = etcd_proc_start(dir, true, &proc);
  if (rc != QX_OK) {
    fprintf(stderr, "test_etcd: cannot start etcd: %s\n", qx_last_error());
    return 1;
  }
  qx_etcd *etcd = NULL;
  CHECK_OK(qx_etcd_open(proc.endpoint, 5000, &etcd));
  if (etcd) {
    test_leases_and_keys(etcd);
    test_cas(etcd);
    test_values(etcd);
    test_prefix(etcd);
    test_expiry(etcd);
    qx_etcd_close(etcd);
  }
  test_endpoints(proc.endpoint);
  test_timeout();
  etcd_proc_stop(&proc);
  test_rmtree(dir);
  return test_finish("test_etcd");
}
