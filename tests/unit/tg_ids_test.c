/* tg_ids_test.c - the Telegram token and chat id rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "tg_ids.h"

static void tokens(void **state) {
  (void)state;
  char long_token[258];
  memset(long_token, 'a', 257);
  long_token[257] = '\0';
  assert_true(lsys_tg_ids_token_valid("123456:ABC-def_g.h"));
  assert_false(lsys_tg_ids_token_valid(""));
  assert_false(lsys_tg_ids_token_valid("123/../bot"));   /* would change the URL path */
  assert_false(lsys_tg_ids_token_valid("123 456"));
  assert_false(lsys_tg_ids_token_valid("123?x=1"));
  assert_false(lsys_tg_ids_token_valid(long_token));
  long_token[256] = '\0';
  assert_true(lsys_tg_ids_token_valid(long_token));
}

static void chat_ids(void **state) {
  (void)state;
  assert_true(lsys_tg_ids_chat_valid("-1001234567890123"));
  assert_true(lsys_tg_ids_chat_valid("42"));
  assert_true(lsys_tg_ids_chat_valid("@my_channel"));
  assert_false(lsys_tg_ids_chat_valid(""));
  assert_false(lsys_tg_ids_chat_valid("-"));
  assert_false(lsys_tg_ids_chat_valid("@"));
  assert_false(lsys_tg_ids_chat_valid("12a"));
  assert_false(lsys_tg_ids_chat_valid("@bad-name"));
  assert_false(lsys_tg_ids_chat_valid("--1"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tokens),
      cmocka_unit_test(chat_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
