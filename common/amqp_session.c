/* amqp_session.c - one AMQP connection, one channel, optional publisher confirms.
 *
 * librabbitmq-c 0.11 has no confirm-wait helper: confirms arrive as
 * basic.ack / basic.nack method frames on the channel, possibly covering a range
 * of tags ("multiple"), and are read here with amqp_simple_wait_frame_noblock. */
#include "amqp_session.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "config.h"
#include "errors.h"

#define CHANNEL 1
#define CONNECT_TIMEOUT_S 5
#define RPC_TIMEOUT_S 10

struct lsys_amqp {
  amqp_connection_state_t conn;
  int confirms;
  int broken;       /* the connection is unusable: only destroy is left */
  uint64_t next_tag; /* delivery tag of the next publish in confirm mode */
};

/* rpc_error describes a failed RPC reply (never includes credentials). */
static void rpc_error(amqp_rpc_reply_t r, const char *what, char *err, size_t errlen) {
  switch (r.reply_type) {
  case AMQP_RESPONSE_NORMAL:
    snprintf(err, errlen, "%s: ok", what);
    break;
  case AMQP_RESPONSE_NONE:
    snprintf(err, errlen, "%s: missing RPC reply", what);
    break;
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    snprintf(err, errlen, "%s: %s", what, amqp_error_string2(r.library_error));
    break;
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      const amqp_connection_close_t *m = r.reply.decoded;
      snprintf(err, errlen, "%s: broker closed the connection: %u %.*s", what, m->reply_code,
               (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      const amqp_channel_close_t *m = r.reply.decoded;
      snprintf(err, errlen, "%s: broker closed the channel: %u %.*s", what, m->reply_code,
               (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    } else {
      snprintf(err, errlen, "%s: broker error (method 0x%08x)", what, r.reply.id);
    }
    break;
  }
}

int lsys_amqp_connect(lsys_amqp **out, const char *url, int heartbeat_s, int confirms, char *err,
                      size_t errlen) {
  char masked[512];
  char *copy = NULL;
  lsys_amqp *s = NULL;
  struct amqp_connection_info ci;
  struct timeval tv = {CONNECT_TIMEOUT_S, 0};
  struct timeval rpc_tv = {RPC_TIMEOUT_S, 0};
  amqp_socket_t *sock;
  amqp_rpc_reply_t r;
  int rc = LSYS_ECONN;

  lsys_config_mask_url(url, masked, sizeof masked);
  copy = strdup(url);
  s = calloc(1, sizeof *s);
  if (!copy || !s) {
    rc = LSYS_ENOMEM;
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  amqp_default_connection_info(&ci);
  if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
    rc = LSYS_ECONFIG;
    snprintf(err, errlen, "LOGSYS_AMQP_URL is not a valid amqp:// URL (%s)", masked);
    goto fail;
  }
  if (ci.ssl) {
    rc = LSYS_ECONFIG;
    snprintf(err, errlen, "LOGSYS_AMQP_URL: amqps:// is not supported yet (%s)", masked);
    goto fail;
  }
  s->conn = amqp_new_connection();
  if (!s->conn || !(sock = amqp_tcp_socket_new(s->conn))) {
    rc = LSYS_ENOMEM;
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  int st = amqp_socket_open_noblock(sock, ci.host, ci.port, &tv);
  if (st != AMQP_STATUS_OK) {
    snprintf(err, errlen, "cannot connect to %s: %s", masked, amqp_error_string2(st));
    goto fail;
  }
  amqp_set_rpc_timeout(s->conn, &rpc_tv);
  r = amqp_login(s->conn, ci.vhost, 0, 131072, heartbeat_s, AMQP_SASL_METHOD_PLAIN, ci.user,
                 ci.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    char what[600];
    snprintf(what, sizeof what, "login to %s", masked);
    rpc_error(r, what, err, errlen);
    goto fail;
  }
  amqp_channel_open(s->conn, CHANNEL);
  r = amqp_get_rpc_reply(s->conn);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    rpc_error(r, "channel.open", err, errlen);
    goto fail;
  }
  if (confirms) {
    amqp_confirm_select(s->conn, CHANNEL);
    r = amqp_get_rpc_reply(s->conn);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      rpc_error(r, "confirm.select", err, errlen);
      goto fail;
    }
    s->confirms = 1;
    s->next_tag = 1;
  }
  free(copy);
  *out = s;
  return LSYS_OK;

fail:
  free(copy);
  if (s)
    s->broken = 1; /* no polite close on a half-open connection */
  lsys_amqp_destroy(s);
  return rc;
}

int lsys_amqp_declare_queue(lsys_amqp *s, const char *queue, char *err, size_t errlen) {
  if (s->broken) {
    snprintf(err, errlen, "queue.declare %s: connection lost", queue);
    return LSYS_ECONN;
  }
  amqp_queue_declare(s->conn, CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
  amqp_rpc_reply_t r = amqp_get_rpc_reply(s->conn);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    char what[300];
    snprintf(what, sizeof what, "queue.declare %s", queue);
    rpc_error(r, what, err, errlen);
    s->broken = 1; /* a failed declare closes the channel (e.g. PRECONDITION_FAILED) */
    return LSYS_ECONN;
  }
  return LSYS_OK;
}

int lsys_amqp_publish(lsys_amqp *s, const char *queue, const char *body, size_t len,
                      const char *message_id, uint64_t *tag) {
  amqp_basic_properties_t props;
  amqp_bytes_t b = {len, (void *)body};

  if (s->broken)
    return LSYS_ECONN;
  memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;
  if (message_id && *message_id) {
    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = amqp_cstring_bytes(message_id);
  }
  int st = amqp_basic_publish(s->conn, CHANNEL, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0,
                              &props, b);
  if (st != AMQP_STATUS_OK) {
    s->broken = 1;
    return LSYS_ECONN;
  }
  if (tag)
    *tag = s->confirms ? s->next_tag : 0;
  if (s->confirms)
    s->next_tag++;
  return LSYS_OK;
}

/* handle_frame dispatches one method frame; returns LSYS_ECONN when the broker
 * closed the channel or connection. */
static int handle_frame(lsys_amqp *s, const amqp_frame_t *f, lsys_amqp_confirm_fn fn, void *arg) {
  if (f->frame_type != AMQP_FRAME_METHOD)
    return LSYS_OK; /* content of a basic.return: ignored (we never publish mandatory) */
  switch (f->payload.method.id) {
  case AMQP_BASIC_ACK_METHOD: {
    const amqp_basic_ack_t *m = f->payload.method.decoded;
    if (fn)
      fn(arg, m->delivery_tag, m->multiple, 1);
    return LSYS_OK;
  }
  case AMQP_BASIC_NACK_METHOD: {
    const amqp_basic_nack_t *m = f->payload.method.decoded;
    if (fn)
      fn(arg, m->delivery_tag, m->multiple, 0);
    return LSYS_OK;
  }
  case AMQP_CHANNEL_CLOSE_METHOD:
  case AMQP_CONNECTION_CLOSE_METHOD:
    s->broken = 1;
    return LSYS_ECONN;
  default:
    return LSYS_OK;
  }
}

int lsys_amqp_poll(lsys_amqp *s, int timeout_ms, lsys_amqp_confirm_fn fn, void *arg) {
  amqp_frame_t f;
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  int st;

  if (s->broken)
    return LSYS_ECONN;
  st = amqp_simple_wait_frame_noblock(s->conn, &f, &tv);
  if (st == AMQP_STATUS_TIMEOUT)
    return LSYS_OK;
  if (st != AMQP_STATUS_OK) {
    s->broken = 1;
    return LSYS_ECONN;
  }
  if (handle_frame(s, &f, fn, arg) != LSYS_OK)
    return LSYS_ECONN;
  /* Drain whatever else is already buffered without blocking. */
  while (amqp_frames_enqueued(s->conn) || amqp_data_in_buffer(s->conn)) {
    struct timeval zero = {0, 0};
    st = amqp_simple_wait_frame_noblock(s->conn, &f, &zero);
    if (st == AMQP_STATUS_TIMEOUT)
      break;
    if (st != AMQP_STATUS_OK) {
      s->broken = 1;
      return LSYS_ECONN;
    }
    if (handle_frame(s, &f, fn, arg) != LSYS_OK)
      return LSYS_ECONN;
  }
  amqp_maybe_release_buffers(s->conn);
  return LSYS_OK;
}

void lsys_amqp_destroy(lsys_amqp *s) {
  if (!s)
    return;
  if (s->conn) {
    if (!s->broken) {
      amqp_channel_close(s->conn, CHANNEL, AMQP_REPLY_SUCCESS);
      amqp_connection_close(s->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(s->conn);
  }
  free(s);
}
