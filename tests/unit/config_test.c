/* config_test.c - unit tests of common/config.c and its table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"
#include "errors.h"

#define SECRET "SeCrEtXyZ"
#define SD LSYS_BIN_SIDECAR
#define WK LSYS_BIN_WORKER
#define SN LSYS_BIN_SEND

/* write_tmp writes text to a new temporary file; the caller unlinks and frees the name. */
static char *write_tmp(const char *text) {
  char *path = strdup("/tmp/lsys_config_test_XXXXXX");
  int fd;
  assert_non_null(path);
  fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

/* load_text loads binary from a file holding text (NULL: no file) and env. */
static int load_text(lsys_config *cfg, lsys_binary bin, const char *text, char **env, char *err,
                     size_t errlen) {
  char *path = text ? write_tmp(text) : NULL;
  int rc = lsys_config_load(cfg, bin, path, env, err, errlen);
  if (path) {
    unlink(path);
    free(path);
  }
  return rc;
}

/* print_to_string returns what lsys_config_print writes (caller frees). */
static char *print_to_string(const lsys_config *cfg) {
  char *out = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&out, &len);
  assert_non_null(fp);
  lsys_config_print(cfg, fp);
  fclose(fp);
  return out;
}

/* expect_error loads and checks the failure message holds each of the words
 * (up to 3, NULL-terminated) and never the secret marker. */
static void expect_error(lsys_binary bin, const char *text, char **env, const char *w1,
                         const char *w2, const char *w3) {
  lsys_config cfg;
  char err[512];
  const char *words[] = {w1, w2, w3};
  int rc = load_text(&cfg, bin, text, env, err, sizeof err);
  assert_int_equal(rc, LSYS_ECONFIG);
  for (int i = 0; i < 3; i++) {
    if (words[i] && strstr(err, words[i]) == NULL)
      fail_msg("error \"%s\" lacks \"%s\"", err, words[i]);
  }
  if (strstr(err, SECRET))
    fail_msg("error \"%s\" shows the secret", err);
  lsys_config_free(&cfg);
}

static void test_defaults(void **state) {
  lsys_config cfg;
  char err[256];
  (void)state;
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, NULL, err, sizeof err), 0);
  assert_null(cfg.domain);
  assert_string_equal(cfg.ipc_url, "ipc:///tmp/logsys.sock");
  assert_int_equal(cfg.ipc_mode, 0660);
  assert_null(cfg.amqp_url);
  assert_int_equal(cfg.amqp_heartbeat_s, 10);
  assert_int_equal(cfg.confirm_window, 4096);
  assert_int_equal(cfg.max_field_bytes, 65536);
  assert_int_equal(cfg.max_request_bytes, 4194304);
  assert_int_equal(cfg.ingest_contexts, 16);
  assert_int_equal(cfg.console, LSYS_CONSOLE_AUTO);
  assert_int_equal(cfg.drain_timeout_ms, 10000);
  assert_int_equal(cfg.tg_embed_credentials, 0);
  assert_null(cfg.tg_template);
  assert_null(cfg.tg_dev_token);
  assert_null(cfg.tg_dev_chat_id);
  assert_null(cfg.tg_customer_token);
  assert_null(cfg.tg_customer_chat_id);
  assert_int_equal(cfg.send_timeout_ms, 10000);
  assert_int_equal(cfg.binary, SD);
  assert_int_equal(lsys_routing_lookup(&cfg.routes, 9)->sinks,
                   LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON | LSYS_SINK_TG_DEVELOPER);
  lsys_config_free(&cfg);
}

static void test_file_parsing(void **state) {
  lsys_config cfg;
  char err[256];
  const char *text = "# logsys settings\n"
                     "\n"
                     "   # indented comment\n"
                     "LOGSYS_DOMAIN=example.com\n"
                     "export LOGSYS_CONFIRM_WINDOW=100\n"
                     "  LOGSYS_IPC_URL  =  \"ipc:///run/a b.sock\"  \n"
                     "LOGSYS_TG_TEMPLATE='{time} # {message}\\n{extra_info}'\n"
                     "LOGSYS_IPC_MODE=0600\r\n"
                     "LOGSYS_CONSOLE=json\n"
                     "LOGSYS_TG_EMBED_CREDENTIALS=yes\n"
                     "LOGSYS_MAX_FIELD_BYTES=1024\n"
                     "LOGSYS_TG_DEV_CHAT_ID=-1001234567890\n"
                     "LOGSYS_TG_CUSTOMER_CHAT_ID=@channel_1\n"
                     "LOGSYS_AMQP_URL=\n"
                     "LOGSYS_CONFIRM_WINDOW=200\n"; /* the last one wins */
  (void)state;
  assert_int_equal(load_text(&cfg, SD, text, NULL, err, sizeof err), 0);
  assert_string_equal(cfg.domain, "example.com");
  assert_int_equal(cfg.confirm_window, 200);
  assert_string_equal(cfg.ipc_url, "ipc:///run/a b.sock");
  assert_string_equal(cfg.tg_template, "{time} # {message}\\n{extra_info}");
  assert_int_equal(cfg.ipc_mode, 0600);
  assert_int_equal(cfg.console, LSYS_CONSOLE_JSON);
  assert_int_equal(cfg.tg_embed_credentials, 1);
  assert_int_equal(cfg.max_field_bytes, 1024);
  assert_string_equal(cfg.tg_dev_chat_id, "-1001234567890");
  assert_string_equal(cfg.tg_customer_chat_id, "@channel_1");
  assert_null(cfg.amqp_url);
  lsys_config_free(&cfg);
}

static void test_file_syntax_errors(void **state) {
  (void)state;
  expect_error(SD, "LOGSYS_DOMAIN=a\n# c\nLOGSYS_CONFIRM_WINDOW\n", NULL, "line 3", "KEY=value",
               NULL);
  expect_error(SD, "LOGSYS_DOMAIN=\"abc\n", NULL, "line 1", "quote", "LOGSYS_DOMAIN");
  expect_error(SD, "=value\n", NULL, "line 1", "key", NULL);
  /* a line without '=' is not echoed: it may be a pasted secret */
  expect_error(SD, SECRET "\n", NULL, "line 1", NULL, NULL);
}

static void test_missing_file(void **state) {
  lsys_config cfg;
  char err[256];
  (void)state;
  assert_int_equal(lsys_config_load(&cfg, SD, "/nonexistent/logsys.conf", NULL, err, sizeof err),
                   LSYS_ECONFIG);
  assert_non_null(strstr(err, "/nonexistent/logsys.conf"));
  lsys_config_free(&cfg);
}

static void test_env_beats_file(void **state) {
  lsys_config cfg;
  char err[256];
  char *env[] = {"PATH=/usr/bin", "LOGSYS_CONFIRM_WINDOW=7", "LOGSYS_CONSOLE=off",
                 "NOT_LOGSYS_X=1", NULL};
  (void)state;
  assert_int_equal(load_text(&cfg, SD, "LOGSYS_CONFIRM_WINDOW=100\nLOGSYS_DOMAIN=d\n", env, err,
                             sizeof err),
                   0);
  assert_int_equal(cfg.confirm_window, 7);
  assert_int_equal(cfg.console, LSYS_CONSOLE_OFF);
  assert_string_equal(cfg.domain, "d");
  lsys_config_free(&cfg);
}

static void test_unknown_file_key(void **state) {
  lsys_config cfg;
  char err[512];
  char *path = write_tmp("LOGSYS_DOMAIN=a\n\nLOGSYS_FOO=1\n");
  char want[300];
  (void)state;
  assert_int_equal(lsys_config_load(&cfg, SD, path, NULL, err, sizeof err), LSYS_ECONFIG);
  snprintf(want, sizeof want, "config file %s line 3: unknown key LOGSYS_FOO", path);
  assert_string_equal(err, want);
  lsys_config_free(&cfg);
  unlink(path);
  free(path);
  /* test harness names are only ignored in the environment */
  expect_error(SD, "LOGSYS_TEST_X=1\n", NULL, "unknown key LOGSYS_TEST_X", NULL, NULL);
  expect_error(SD, "PATH=/bin\n", NULL, "unknown key PATH", NULL, NULL);
}

static void test_unknown_env_key(void **state) {
  lsys_config cfg;
  char err[256];
  char *env[] = {"LOGSYS_NOPE=1", NULL};
  char *harness[] = {"LOGSYS_TEST_RABBIT_PORT=5999", "LOGSYS_BENCH_N=10", "LOGSYS_DOMAIN=d",
                     NULL};
  (void)state;
  expect_error(SD, NULL, env, "environment: unknown key LOGSYS_NOPE", NULL, NULL);
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, harness, err, sizeof err), 0);
  assert_string_equal(cfg.domain, "d");
  lsys_config_free(&cfg);
}

static void test_other_binary_key(void **state) {
  lsys_config cfg;
  char err[256];
  char *env[] = {"LOGSYS_SEND_TIMEOUT_MS=abc", NULL};
  (void)state;
  /* another binary's key is accepted and ignored, even with a value it would refuse */
  assert_int_equal(load_text(&cfg, SD, "LOGSYS_SEND_TIMEOUT_MS=5\n", env, err, sizeof err), 0);
  assert_int_equal(cfg.send_timeout_ms, 10000);
  lsys_config_free(&cfg);
  assert_int_equal(load_text(&cfg, SN, "LOGSYS_CONFIRM_WINDOW=0\nLOGSYS_DOMAIN=a b\n"
                             "LOGSYS_TG_DEV_TOKEN_FILE=/nonexistent\nLOGSYS_ROUTE_9=bogus\n"
                             "LOGSYS_SEND_TIMEOUT_MS=2500\n",
                             NULL, err, sizeof err),
                   0);
  assert_int_equal(cfg.confirm_window, 4096);
  assert_int_equal(cfg.send_timeout_ms, 2500);
  assert_null(cfg.domain);
  lsys_config_free(&cfg);
  /* but a route to a level nobody knows is an unknown key for everyone */
  expect_error(SN, "LOGSYS_ROUTE_7=console\n", NULL, "LOGSYS_ROUTE_7", "99 (Monitor)", NULL);
}

static void test_bad_values(void **state) {
  (void)state;
  expect_error(SD, "LOGSYS_CONFIRM_WINDOW=12x\n", NULL, "LOGSYS_CONFIRM_WINDOW", "\"12x\"",
               "1..65535");
  expect_error(SD, "LOGSYS_CONFIRM_WINDOW=0\n", NULL, "LOGSYS_CONFIRM_WINDOW", "\"0\"", "line 1");
  expect_error(SD, "LOGSYS_CONFIRM_WINDOW=\n", NULL, "LOGSYS_CONFIRM_WINDOW", NULL, NULL);
  expect_error(SD, "LOGSYS_MAX_FIELD_BYTES=99999999999999999999\n", NULL, "LOGSYS_MAX_FIELD_BYTES",
               "99999999999999999999", NULL);
  expect_error(SD, "LOGSYS_MAX_REQUEST_BYTES= -5\n", NULL, "LOGSYS_MAX_REQUEST_BYTES", "\"-5\"",
               NULL);
  expect_error(SD, "LOGSYS_IPC_MODE=0999\n", NULL, "LOGSYS_IPC_MODE", "0999", NULL);
  expect_error(SD, "LOGSYS_IPC_MODE=01777\n", NULL, "LOGSYS_IPC_MODE", "01777", NULL);
  expect_error(SD, "LOGSYS_TG_EMBED_CREDENTIALS=maybe\n", NULL, "LOGSYS_TG_EMBED_CREDENTIALS",
               "maybe", NULL);
  expect_error(SD, "LOGSYS_CONSOLE=fancy\n", NULL, "LOGSYS_CONSOLE", "fancy", "auto|color");
  expect_error(SD, "LOGSYS_TG_DEV_CHAT_ID=12ab\n", NULL, "LOGSYS_TG_DEV_CHAT_ID", "12ab", NULL);
  expect_error(SD, "LOGSYS_IPC_URL=\n", NULL, "LOGSYS_IPC_URL", NULL, NULL);
  char *env[] = {"LOGSYS_AMQP_HEARTBEAT_S=601", NULL};
  expect_error(WK, NULL, env, "environment: bad value for LOGSYS_AMQP_HEARTBEAT_S", "601", NULL);
}

static void test_secrets_never_in_errors(void **state) {
  char *env_token[] = {"LOGSYS_TG_DEV_TOKEN=12:" SECRET " x", NULL};
  char *env_url[] = {"LOGSYS_AMQP_URL=http://guest:" SECRET "@host/", NULL};
  char *env_both[] = {"LOGSYS_TG_CUSTOMER_TOKEN=1:" SECRET,
                      "LOGSYS_TG_CUSTOMER_TOKEN_FILE=/nonexistent/" "token", NULL};
  char *env_nofile[] = {"LOGSYS_AMQP_URL_FILE=/nonexistent/amqp", NULL};
  char *bad_file = write_tmp("1:" SECRET "/x\n");
  char env_badfile_var[300];
  char *env_badfile[] = {env_badfile_var, NULL};
  (void)state;
  expect_error(SD, NULL, env_token, "LOGSYS_TG_DEV_TOKEN", "not shown", NULL);
  expect_error(WK, NULL, env_url, "LOGSYS_AMQP_URL", "amqp://", NULL);
  expect_error(SD, NULL, env_both, "LOGSYS_TG_CUSTOMER_TOKEN_FILE", "both", NULL);
  expect_error(SD, NULL, env_nofile, "LOGSYS_AMQP_URL_FILE", "/nonexistent/amqp", NULL);
  expect_error(SD, "LOGSYS_TG_DEV_TOKEN=" SECRET "?\n", NULL, "line 1", "LOGSYS_TG_DEV_TOKEN",
               NULL);
  snprintf(env_badfile_var, sizeof env_badfile_var, "LOGSYS_TG_DEV_TOKEN_FILE=%s", bad_file);
  expect_error(WK, NULL, env_badfile, "LOGSYS_TG_DEV_TOKEN", bad_file, NULL);
  /* both forms in the file, too */
  char text[400];
  char *good_file = write_tmp("1:" SECRET "\n");
  snprintf(text, sizeof text, "LOGSYS_TG_DEV_TOKEN_FILE=%s\nLOGSYS_TG_DEV_TOKEN=1:%s\n", good_file,
           SECRET);
  expect_error(SD, text, NULL, "line 2", "both", NULL);
  unlink(good_file);
  free(good_file);
  /* the conflict is found before the file is read */
  snprintf(text, sizeof text, "LOGSYS_TG_DEV_TOKEN=1:%s\nLOGSYS_TG_DEV_TOKEN_FILE=/nonexistent\n",
           SECRET);
  expect_error(SD, text, NULL, "line 2", "both", NULL);
  unlink(bad_file);
  free(bad_file);
}

static void test_secret_file(void **state) {
  lsys_config cfg;
  char err[256];
  char *tok = write_tmp("123456:ABC-def_" SECRET "\n\n  \t\n");
  char *url = write_tmp("amqp://guest:" SECRET "@127.0.0.1:5672/%2f");
  char v1[300], v2[300];
  char *env[] = {v1, v2, NULL};
  (void)state;
  snprintf(v1, sizeof v1, "LOGSYS_TG_DEV_TOKEN_FILE=%s", tok);
  snprintf(v2, sizeof v2, "LOGSYS_AMQP_URL_FILE=%s", url);
  /* the file set the plain form; the environment's _FILE form overrides it */
  assert_int_equal(load_text(&cfg, WK, "LOGSYS_TG_DEV_TOKEN=1:old\n", env, err, sizeof err), 0);
  assert_string_equal(cfg.tg_dev_token, "123456:ABC-def_" SECRET);
  assert_string_equal(cfg.amqp_url, "amqp://guest:" SECRET "@127.0.0.1:5672/%2f");
  lsys_config_free(&cfg);
  unlink(tok);
  unlink(url);
  free(tok);
  free(url);
}

static void test_print_masks_secrets(void **state) {
  lsys_config cfg;
  char err[256];
  char *out;
  char *env[] = {"LOGSYS_AMQP_URL=amqp://user:" SECRET "@host:5672/vhost",
                 "LOGSYS_TG_DEV_TOKEN=42:" SECRET, "LOGSYS_DOMAIN=example.com", NULL};
  (void)state;
  assert_int_equal(load_text(&cfg, SD, "LOGSYS_ROUTE_9=console\n", env, err, sizeof err), 0);
  out = print_to_string(&cfg);
  assert_null(strstr(out, SECRET));
  assert_non_null(strstr(out, "LOGSYS_DOMAIN=example.com\n"));
  assert_non_null(strstr(out, "LOGSYS_AMQP_URL=amqp://user:****@host:5672/vhost\n"));
  assert_non_null(strstr(out, "LOGSYS_TG_DEV_TOKEN=****\n"));
  assert_non_null(strstr(out, "LOGSYS_TG_CUSTOMER_TOKEN=\n"));
  assert_non_null(strstr(out, "LOGSYS_IPC_MODE=0660\n"));
  assert_non_null(strstr(out, "LOGSYS_CONSOLE=auto\n"));
  assert_non_null(strstr(out, "LOGSYS_ROUTE_9=console\n"));
  assert_non_null(strstr(out, "LOGSYS_ROUTE_91=console,logbeacon,tg_developer,tg_customer\n"));
  assert_null(strstr(out, "LOGSYS_SEND_TIMEOUT_MS"));
  /* table order */
  assert_true(strstr(out, "LOGSYS_DOMAIN=") < strstr(out, "LOGSYS_IPC_URL="));
  assert_true(strstr(out, "LOGSYS_IPC_URL=") < strstr(out, "LOGSYS_ROUTE_0="));
  free(out);
  lsys_config_free(&cfg);

  assert_int_equal(lsys_config_load(&cfg, SN, NULL, env, err, sizeof err), 0);
  out = print_to_string(&cfg);
  assert_non_null(strstr(out, "LOGSYS_IPC_URL=ipc:///tmp/logsys.sock\n"));
  assert_non_null(strstr(out, "LOGSYS_SEND_TIMEOUT_MS=10000\n"));
  assert_null(strstr(out, "LOGSYS_DOMAIN"));
  assert_null(strstr(out, "LOGSYS_ROUTE_"));
  assert_null(strstr(out, SECRET));
  free(out);
  lsys_config_free(&cfg);
}

static void test_help(void **state) {
  char *out = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&out, &len);
  (void)state;
  lsys_config_help(SD, fp);
  fclose(fp);
  assert_non_null(strstr(out, "LOGSYS_CONFIRM_WINDOW"));
  assert_non_null(strstr(out, "4096"));
  assert_non_null(strstr(out, "LOGSYS_TG_DEV_TOKEN_FILE"));
  assert_non_null(strstr(out, "LOGSYS_ROUTE_<level>"));
  assert_null(strstr(out, "LOGSYS_SEND_TIMEOUT_MS"));
  free(out);
  fp = open_memstream(&out, &len);
  lsys_config_help(SN, fp);
  fclose(fp);
  assert_non_null(strstr(out, "LOGSYS_SEND_TIMEOUT_MS"));
  assert_null(strstr(out, "LOGSYS_CONFIRM_WINDOW"));
  assert_null(strstr(out, "LOGSYS_ROUTE_"));
  free(out);
}

static void test_routes(void **state) {
  lsys_config cfg;
  char err[256];
  char *env[] = {"LOGSYS_ROUTE_9=console,logbeacon", "LOGSYS_ROUTE_monitor=logbeacon",
                 "LOGSYS_ROUTE_0=none", NULL};
  (void)state;
  assert_int_equal(load_text(&cfg, WK, "LOGSYS_ROUTE_9=none\nLOGSYS_ROUTE_11=tg_customer\n", env,
                             err, sizeof err),
                   0);
  assert_int_equal(lsys_routing_lookup(&cfg.routes, 9)->sinks,
                   LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON);
  assert_int_equal(lsys_routing_lookup(&cfg.routes, 11)->sinks, LSYS_SINK_TG_CUSTOMER);
  assert_int_equal(lsys_routing_lookup(&cfg.routes, 99)->sinks, LSYS_SINK_LOGBEACON);
  assert_int_equal(lsys_routing_lookup(&cfg.routes, 0)->sinks, 0);
  assert_int_equal(lsys_routing_lookup(&cfg.routes, 1)->sinks,
                   LSYS_SINK_CONSOLE | LSYS_SINK_LOGBEACON);
  lsys_config_free(&cfg);
  char *bad_level[] = {"LOGSYS_ROUTE_5=console", NULL};
  expect_error(SD, NULL, bad_level, "LOGSYS_ROUTE_5",
               "0 (Debug), 1 (Info), 9 (Error), 11 (Info_CTG), 91 (Error_CTG), 99 (Monitor)", NULL);
  expect_error(SD, "LOGSYS_ROUTE_=console\n", NULL, "LOGSYS_ROUTE_", "valid levels", NULL);
  expect_error(SD, "LOGSYS_ROUTE_1=console,pager\n", NULL, "LOGSYS_ROUTE_1", "console,pager",
               "line 1");
}

static void test_require(void **state) {
  lsys_config cfg;
  char err[256], long_domain[260];
  char *ok[] = {"LOGSYS_DOMAIN=shop-1.example_com", NULL};
  char *bad[] = {"LOGSYS_DOMAIN=a/b", NULL};
  char *amq[] = {"LOGSYS_DOMAIN=amq.x", NULL};
  char *lng[] = {long_domain, NULL};
  (void)state;
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, NULL, err, sizeof err), 0);
  assert_int_equal(lsys_config_require(&cfg, err, sizeof err), LSYS_ECONFIG);
  assert_non_null(strstr(err, "LOGSYS_DOMAIN"));
  lsys_config_free(&cfg);
  assert_int_equal(lsys_config_load(&cfg, WK, NULL, ok, err, sizeof err), 0);
  assert_int_equal(lsys_config_require(&cfg, err, sizeof err), 0);
  lsys_config_free(&cfg);
  assert_int_equal(lsys_config_load(&cfg, SN, NULL, NULL, err, sizeof err), 0);
  assert_int_equal(lsys_config_require(&cfg, err, sizeof err), 0); /* send needs no domain */
  lsys_config_free(&cfg);
  expect_error(SD, NULL, bad, "LOGSYS_DOMAIN", "a/b", NULL);
  expect_error(WK, NULL, amq, "LOGSYS_DOMAIN", "amq.", NULL);
  strcpy(long_domain, "LOGSYS_DOMAIN=");
  memset(long_domain + 14, 'a', 201);
  long_domain[14 + 201] = '\0';
  expect_error(SD, NULL, lng, "LOGSYS_DOMAIN", "200", NULL);
  long_domain[14 + 200] = '\0';
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, lng, err, sizeof err), 0);
  assert_int_equal(lsys_config_require(&cfg, err, sizeof err), 0);
  /* a domain set after load (a caller's struct) is checked by require itself */
  free(cfg.domain);
  cfg.domain = strdup("bad domain");
  assert_int_equal(lsys_config_require(&cfg, err, sizeof err), LSYS_ECONFIG);
  assert_non_null(strstr(err, "\"bad domain\""));
  lsys_config_free(&cfg);
}

static void test_mask_url(void **state) {
  static const struct {
    const char *in, *out;
  } cases[] = {
    {"amqp://user:pass@host:5672/vhost", "amqp://user:****@host:5672/vhost"},
    {"amqp://guest:guest@127.0.0.1:5672/%2f", "amqp://guest:****@127.0.0.1:5672/%2f"},
    {"amqps://u:p@ss/w:rd@host/v", "amqps://u:****@host/v"},
    {"amqp://user@host:5672/v", "amqp://user@host:5672/v"},
    {"amqp://host:5672/v", "amqp://host:5672/v"},
    {"amqp://host", "amqp://host"},
    {"amqp://:pw@host", "amqp://:****@host"},
    {"user:pass@host", "****"},
    {"://user:pass@host", "****"},
    {"amqp:/user:pass@host", "****"},
    {"", "****"},
  };
  char buf[128];
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lsys_config_mask_url(cases[i].in, buf, sizeof buf);
    assert_string_equal(buf, cases[i].out);
  }
  lsys_config_mask_url(NULL, buf, sizeof buf);
  assert_string_equal(buf, "");
  lsys_config_mask_url("amqp://user:pass@host/v", buf, 12); /* truncated, never the password */
  assert_string_equal(buf, "amqp://user");
  lsys_config_mask_url("amqp://user:pass@host/v", buf, 0); /* writes nothing */
}

static void test_free_twice_and_after_failure(void **state) {
  lsys_config cfg;
  char err[8]; /* a short error buffer is truncated, not overrun */
  char *env[] = {"LOGSYS_DOMAIN=d", "LOGSYS_TG_DEV_TOKEN=1:x", "LOGSYS_BOGUS=1", NULL};
  (void)state;
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, env, err, sizeof err), LSYS_ECONFIG);
  assert_int_equal(strlen(err), sizeof err - 1);
  lsys_config_free(&cfg);
  lsys_config_free(&cfg);
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, env, NULL, 0), LSYS_ECONFIG);
  lsys_config_free(&cfg);
  env[2] = NULL;
  assert_int_equal(lsys_config_load(&cfg, SD, NULL, env, NULL, 0), 0);
  lsys_config_free(&cfg);
  lsys_config_free(&cfg);
  assert_null(cfg.domain);
  lsys_config_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_file_parsing),
    cmocka_unit_test(test_file_syntax_errors),
    cmocka_unit_test(test_missing_file),
    cmocka_unit_test(test_env_beats_file),
    cmocka_unit_test(test_unknown_file_key),
    cmocka_unit_test(test_unknown_env_key),
    cmocka_unit_test(test_other_binary_key),
    cmocka_unit_test(test_bad_values),
    cmocka_unit_test(test_secrets_never_in_errors),
    cmocka_unit_test(test_secret_file),
    cmocka_unit_test(test_print_masks_secrets),
    cmocka_unit_test(test_help),
    cmocka_unit_test(test_routes),
    cmocka_unit_test(test_require),
    cmocka_unit_test(test_mask_url),
    cmocka_unit_test(test_free_twice_and_after_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
