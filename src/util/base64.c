/* Base64 (base64.h): strict decoding, so that a verifier or SCRAM message with stray
 * characters is refused rather than read as something else. */
#include "util/base64.h"

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char PAD = '=';

void qx_base64_encode(const uint8_t *data, size_t len, char *out) {
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
    if (i + 2 < len) v |= data[i + 2];
    out[0] = ALPHABET[v >> 18 & 63];
    out[1] = ALPHABET[v >> 12 & 63];
    out[2] = out[3] = PAD;
    if (i + 1 < len) out[2] = ALPHABET[v >> 6 & 63];
    if (i + 2 < len) out[3] = ALPHABET[v & 63];
    out += 4;
  }
  *out = '\0';
}

/* The 6-bit value of c, or -1. */
static int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int qx_base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  if (len % 4 != 0) return -1;
  size_t pad = len && text[len - 1] == '=' ? (text[len - 2] == '=' ? 2 : 1) : 0;
  size_t n = len / 4 * 3 - pad;
  if (n > cap) return -1;
  for (size_t i = 0, o = 0; i < len; i += 4) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; j++) {
      int s = i + j >= len - pad ? 0 : sextet(text[i + j]);
      if (s < 0) return -1;
      v = v << 6 | (uint32_t)s;
    }
    for (size_t j = 0; j < 3 && o < n; j++)
      out[o++] = (uint8_t)(v >> (16 - 8 * j));
  }
  *out_len = n;
  return 0;
}
