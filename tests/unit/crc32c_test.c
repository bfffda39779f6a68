/* crc32c_test.c - CRC-32C against published vectors and a bitwise reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

/* reference is the textbook bit-at-a-time CRC-32C. */
static uint32_t reference(const uint8_t *p, size_t n) {
  uint32_t c = 0xffffffffu;
  while (n--) {
    c ^= *p++;
    for (int b = 0; b < 8; b++)
      c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

static void test_vectors(void **state) {
  uint8_t buf[32];
  (void)state;
  assert_int_equal(lsys_crc32c("123456789", 9), 0xE3069283u);
  assert_int_equal(lsys_crc32c(NULL, 0), 0);
  memset(buf, 0, sizeof buf); /* RFC 3720 B.4 */
  assert_int_equal(lsys_crc32c(buf, 32), 0x8A9136AAu);
  memset(buf, 0xff, sizeof buf);
  assert_int_equal(lsys_crc32c(buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++)
    buf[i] = (uint8_t)i;
  assert_int_equal(lsys_crc32c(buf, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++)
    buf[i] = (uint8_t)(31 - i);
  assert_int_equal(lsys_crc32c(buf, 32), 0x113FDB5Cu);
}

static void test_matches_reference_and_chains(void **state) {
  enum { N = 4096 };
  uint8_t *buf = malloc(N + 8);
  (void)state;
  assert_non_null(buf);
  srand(7);
  for (size_t i = 0; i < N + 8; i++)
    buf[i] = (uint8_t)rand();
  for (size_t off = 0; off < 8; off++) {
    for (size_t len = 0; len < 300; len++) {
      uint32_t want = reference(buf + off, len);
      assert_int_equal(lsys_crc32c(buf + off, len), want);
      size_t cut = len / 3;
      assert_int_equal(lsys_crc32c_update(lsys_crc32c(buf + off, cut), buf + off + cut, len - cut),
                       want);
    }
  }
  assert_int_equal(lsys_crc32c(buf, N), reference(buf, N));
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_matches_reference_and_chains),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
