/* The users file (src/server/users.c, docs/formats/users.md): comments, blank lines and CRLF
 * taken; every kind of bad line refused with the file's name, the line number and what is
 * wrong; qx_users_put adding a user, replacing one's verifier with every other line kept, and
 * refusing to edit a file that does not parse. */
#include <sys/stat.h>

#include "check.h"
#include "server/users.h"

#define V1                                                                                         \
  "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"      \
  "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define V2                                                                                         \
  "SCRAM-SHA-256$10000:c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"                     \
  "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="

static char dir[PATH_MAX];

static void test_good(void) {
  const char *text = "# qaxdbd users\n"
                     "\n"
                     "alice " V1 "\n"
                     "  bob\t" V2 "  \r\n"
                     "   # indented comment\n"
                     "\"quoted\"@host " V1; /* no final newline */
  qx_users users;
  CHECK_OK(qx_users_parse("users.txt", text, strlen(text), &users));
  CHECK_EQ_U64(users.count, 3);
  const qx_scram_verifier *bob = qx_users_find(&users, "bob");
  CHECK(bob && bob->iterations == 10000 && bob->salt_len == 4 && bob->server_key[0] == 1);
  CHECK(qx_users_find(&users, "alice") && qx_users_find(&users, "\"quoted\"@host"));
  CHECK(!qx_users_find(&users, "carol") && !qx_users_find(&users, "ali"));
  qx_users_free(&users);
  CHECK_OK(qx_users_parse("empty", "", 0, &users)); /* nobody may log in, but it is a file */
  CHECK_EQ_U64(users.count, 0);
}

static void test_bad(void) {
  static const struct {
    const char *text, *error;
  } cases[] = {
      {"alice\n", "users.txt:1: expected a user name and its verifier"},
      {"# ok\nalice " V1 " extra\n", "users.txt:2: expected a user name and its verifier"},
      {"alice " V1 "\n\nalice " V2 "\n", "users.txt:3: user alice appears twice"},
      {"alice md5abc\n", "users.txt:1: user alice: not a verifier of the form"},
      {"alice SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA\n",
       "users.txt:1: user alice: the StoredKey is not 32 bytes"},
      {"\n\n\nbob SCRAM-SHA-256$0:c2FsdA==$x:y\n", "users.txt:4: user bob: the iteration count"},
      {"a\x01z " V1 "\n", "users.txt:1: bad user name"},
      {"a234567890123456789012345678901234567890123456789012345678901234 " V1 "\n",
       "users.txt:1: bad user name"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qx_users users;
    CHECK_RC(qx_users_parse("users.txt", cases[i].text, strlen(cases[i].text), &users),
             QX_ERR_PARSE);
    if (strncmp(qx_last_error(), cases[i].error, strlen(cases[i].error)) != 0) {
      fprintf(stderr, "case %zu: %s\n", i, qx_last_error());
      CHECK(0);
    }
  }
  char nul[] = "alice " V1 "\nb\0b " V1 "\n", line[1100];
  qx_users users;
  CHECK_RC(qx_users_parse("f", nul, sizeof nul - 1, &users), QX_ERR_PARSE);
  CHECK(strncmp(qx_last_error(), "f:2: a line longer than", 23) == 0);
  memset(line, 'x', sizeof line);
  CHECK_RC(qx_users_parse("f", line, sizeof line, &users), QX_ERR_PARSE);
  CHECK(strncmp(qx_last_error(), "f:1: a line longer than", 23) == 0);
}

static void read_text(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(out, 1, cap - 1, f) : 0;
  out[n] = '\0';
  if (f) fclose(f);
}

static void test_put(void) {
  char path[PATH_MAX], text[4096];
  test_join(path, dir, "users");
  qx_users users;
  CHECK_RC(qx_users_load(path, &users), QX_ERR_IO); /* no file: the server does not start */
  CHECK(strstr(qx_last_error(), path) != NULL);
  qx_scram_verifier v1, v2;
  CHECK_OK(qx_scram_parse_verifier(V1, &v1));
  CHECK_OK(qx_scram_parse_verifier(V2, &v2));
  int replaced = -1;
  CHECK_OK(qx_users_put(path, "alice", &v1, &replaced)); /* creates the file */
  CHECK(replaced == 0);
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  FILE *f = fopen(path, "a");
  fputs("# carol left\nbob " V1, f); /* a comment, and no final newline */
  fclose(f);
  CHECK_OK(qx_users_put(path, "alice", &v2, &replaced));
  CHECK(replaced == 1);
  CHECK_OK(qx_users_put(path, "dave", &v1, &replaced));
  CHECK(replaced == 0);
  read_text(path, text, sizeof text);
  CHECK_STR(text, "alice " V2 "\n# carol left\nbob " V1 "\ndave " V1 "\n");
  CHECK_OK(qx_users_load(path, &users));
  CHECK_EQ_U64(users.count, 3);
  qx_users_free(&users);

  CHECK_RC(qx_users_put(path, "with space", &v1, &replaced), QX_ERR_INVALID_ARG);
  CHECK_RC(qx_users_put(path, "#x", &v1, &replaced), QX_ERR_INVALID_ARG);
  f = fopen(path, "a");
  fputs("broken\n", f);
  fclose(f);
  CHECK_RC(qx_users_put(path, "erin", &v1, &replaced), QX_ERR_PARSE);
  CHECK(strstr(qx_last_error(), ":5: expected a user name") != NULL);
  read_text(path, text, sizeof text);
  CHECK(strstr(text, "erin") == NULL); /* left as it was */
}

int main(void) {
  test_tmpdir(dir, "users");
  test_good();
  test_bad();
  test_put();
  test_rmtree(dir);
  return test_finish("test_users");
}
