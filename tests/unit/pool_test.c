/* pool_test.c - recycled record blocks: reuse within a class, limits, fallbacks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pool.h"

static void test_reuse_same_class(void **state) {
  lsys_pool *p = NULL;
  (void)state;
  assert_int_equal(lsys_pool_create(&p, 0), LSYS_EINVAL);
  assert_int_equal(lsys_pool_create(NULL, 4), LSYS_EINVAL);
  assert_int_equal(lsys_pool_create(&p, 4), LSYS_OK);
  char *a = lsys_pool_get(p, 100);
  assert_non_null(a);
  memset(a, 'x', 256); /* a whole class-sized block */
  lsys_pool_put(p, a, 100);
  char *b = lsys_pool_get(p, 200); /* same class (<= 256): the same block */
  assert_ptr_equal(a, b);
  lsys_pool_put(p, b, 200);
  char *c = lsys_pool_get(p, 300); /* next class: a new block */
  assert_ptr_not_equal(c, a);
  memset(c, 'y', 512);
  lsys_pool_put(p, c, 300);
  lsys_pool_destroy(p); /* frees the kept blocks (ASan would say otherwise) */
}

static void test_limits_and_fallbacks(void **state) {
  lsys_pool *p;
  void *blocks[10];
  (void)state;
  assert_int_equal(lsys_pool_create(&p, 4), LSYS_OK);
  for (int i = 0; i < 10; i++)
    blocks[i] = lsys_pool_get(p, 64);
  for (int i = 0; i < 10; i++) /* 4 kept, 6 freed */
    lsys_pool_put(p, blocks[i], 64);
  void *big = lsys_pool_get(p, 1 << 20); /* no class: plain malloc */
  memset(big, 0, 1 << 20);
  lsys_pool_put(p, big, 1 << 20);
  lsys_pool_put(p, NULL, 10);
  void *plain = lsys_pool_get(NULL, 10);
  lsys_pool_put(NULL, plain, 10);
  lsys_pool_destroy(p);
  lsys_pool_destroy(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reuse_same_class),
      cmocka_unit_test(test_limits_and_fallbacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
