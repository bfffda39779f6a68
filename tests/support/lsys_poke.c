/* lsys_poke.c - lsys-poke: send raw bytes to logsysd as one request, print the reply.
 *
 *   lsys-poke [--timeout MS] URL FILE|-
 *   lsys-poke [--timeout MS] --gen-size N URL
 *
 * The bytes of FILE (or stdin for "-"), or N bytes of 0xFF garbage, go out as
 * ONE nng req0 request, unchecked, so tests can send malformed, empty, huge or
 * hand-encoded LogBatch messages. The BatchReply is printed as one JSON line:
 *   {"batch_id":N,"status":"BATCH_OK","error":"...",
 *    "results":[{"log_id":"...","status":"RECORD_ACCEPTED","flags":N,"reason":"..."}]}
 * Exit: 0 a reply arrived and decoded; 2 usage or input error; 3 no reply
 * (dial failed, timeout, connection closed; the nng error on stderr); 4 the
 * reply was not a BatchReply. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logsys/v1/logsys.pb-c.h"

static void usage(FILE *fp) {
  fprintf(fp,
          "usage: lsys-poke [--timeout MS] URL FILE|-\n"
          "       lsys-poke [--timeout MS] --gen-size N URL\n"
          "Sends the bytes of FILE (- for stdin), or N bytes of 0xFF, as one nng req0\n"
          "request to URL and prints the decoded BatchReply as one JSON line.\n"
          "Exit 0 reply printed, 2 usage, 3 no reply, 4 undecodable reply.\n");
}

/* read_all reads the whole of fp into a malloc'd buffer (*len may be 0).
 * Returns NULL on a read or allocation error. */
static unsigned char *read_all(FILE *fp, size_t *len) {
  size_t cap = 65536, n = 0;
  unsigned char *buf = malloc(cap);
  if (buf == NULL) return NULL;
  for (;;) {
    if (n == cap) {
      unsigned char *nb = realloc(buf, cap * 2);
      if (nb == NULL) goto fail;
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) {
      if (ferror(fp)) goto fail;
      break;
    }
  }
  *len = n;
  return buf;
fail:
  free(buf);
  return NULL;
}

/* enum_name returns the name of value in desc, or NULL when unknown. */
static const char *enum_name(const ProtobufCEnumDescriptor *desc, int value) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
  return v != NULL ? v->name : NULL;
}

static void add_enum(cJSON *obj, const char *key, const ProtobufCEnumDescriptor *desc, int value) {
  const char *name = enum_name(desc, value);
  if (name != NULL) {
    cJSON_AddStringToObject(obj, key, name);
  } else {
    cJSON_AddNumberToObject(obj, key, value);
  }
}

/* print_reply prints reply as one JSON line; returns 0 or -1 (out of memory). */
static int print_reply(const Logsys__V1__BatchReply *reply) {
  int rc = -1;
  char *text = NULL;
  cJSON *root = cJSON_CreateObject();
  if (root == NULL) goto done;
  cJSON_AddNumberToObject(root, "batch_id", (double)reply->batch_id);
  add_enum(root, "status", &logsys__v1__batch_status__descriptor, (int)reply->status);
  cJSON_AddStringToObject(root, "error", reply->error != NULL ? reply->error : "");
  cJSON *results = cJSON_AddArrayToObject(root, "results");
  if (results == NULL) goto done;
  for (size_t i = 0; i < reply->n_results; i++) {
    const Logsys__V1__RecordResult *r = reply->results[i];
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) goto done;
    cJSON_AddItemToArray(results, o);
    cJSON_AddStringToObject(o, "log_id", r->log_id != NULL ? r->log_id : "");
    add_enum(o, "status", &logsys__v1__record_status__descriptor, (int)r->status);
    cJSON_AddNumberToObject(o, "flags", r->flags);
    cJSON_AddStringToObject(o, "reason", r->reason != NULL ? r->reason : "");
  }
  text = cJSON_PrintUnformatted(root);
  if (text == NULL) goto done;
  printf("%s\n", text);
  fflush(stdout);
  rc = 0;
done:
  free(text);
  cJSON_Delete(root);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"timeout", required_argument, NULL, 't'},
      {"gen-size", required_argument, NULL, 'g'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  long timeout_ms = 5000;
  long long gen_size = -1;
  int c;
  while ((c = getopt_long(argc, argv, "t:g:h", opts, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
      case 't':
        errno = 0;
        timeout_ms = strtol(optarg, &end, 10);
        if (errno != 0 || *end != '\0' || timeout_ms <= 0) {
          fprintf(stderr, "lsys-poke: bad --timeout: %s\n", optarg);
          return 2;
        }
        break;
      case 'g':
        errno = 0;
        gen_size = strtoll(optarg, &end, 10);
        if (errno != 0 || *end != '\0' || gen_size < 0) {
          fprintf(stderr, "lsys-poke: bad --gen-size: %s\n", optarg);
          return 2;
        }
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  int want = gen_size >= 0 ? 1 : 2;
  if (argc - optind != want) {
    usage(stderr);
    return 2;
  }
  const char *url = argv[optind];

  unsigned char *data = NULL;
  size_t len = 0;
  if (gen_size >= 0) {
    len = (size_t)gen_size;
    data = malloc(len > 0 ? len : 1);
    if (data == NULL) {
      fprintf(stderr, "lsys-poke: out of memory\n");
      return 2;
    }
    memset(data, 0xFF, len);
  } else {
    const char *path = argv[optind + 1];
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (fp == NULL) {
      fprintf(stderr, "lsys-poke: %s: %s\n", path, strerror(errno));
      return 2;
    }
    data = read_all(fp, &len);
    if (fp != stdin) fclose(fp);
    if (data == NULL) {
      fprintf(stderr, "lsys-poke: cannot read %s\n", path);
      return 2;
    }
  }

  int exit_code = 3;
  nng_socket sock = NNG_SOCKET_INITIALIZER;
  nng_msg *reply_msg = NULL;
  Logsys__V1__BatchReply *reply = NULL;
  int rv;
  if ((rv = nng_req0_open(&sock)) != 0) {
    fprintf(stderr, "lsys-poke: nng_req0_open: %s\n", nng_strerror(rv));
    goto done;
  }
  /* One attempt only: a resend would hide what the sidecar did with the first. */
  nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, (nng_duration)timeout_ms);
  nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, (nng_duration)timeout_ms);
  nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
  if ((rv = nng_dial(sock, url, NULL, 0)) != 0) {
    fprintf(stderr, "lsys-poke: dial %s: %s\n", url, nng_strerror(rv));
    goto done;
  }
  if ((rv = nng_send(sock, data, len, 0)) != 0) {
    fprintf(stderr, "lsys-poke: send (%zu bytes): %s\n", len, nng_strerror(rv));
    goto done;
  }
  if ((rv = nng_recvmsg(sock, &reply_msg, 0)) != 0) {
    fprintf(stderr, "lsys-poke: no reply to %zu bytes within %ld ms: %s\n", len, timeout_ms,
            nng_strerror(rv));
    goto done;
  }
  reply = logsys__v1__batch_reply__unpack(NULL, nng_msg_len(reply_msg), nng_msg_body(reply_msg));
  if (reply == NULL) {
    fprintf(stderr, "lsys-poke: the reply (%zu bytes) is not a BatchReply\n",
            nng_msg_len(reply_msg));
    exit_code = 4;
    goto done;
  }
  exit_code = print_reply(reply) == 0 ? 0 : 4;
done:
  if (reply != NULL) logsys__v1__batch_reply__free_unpacked(reply, NULL);
  if (reply_msg != NULL) nng_msg_free(reply_msg);
  nng_close(sock);
  free(data);
  return exit_code;
}
