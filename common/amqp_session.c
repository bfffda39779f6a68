/* amqp_session.c - one AMQP connection, one channel, optional publisher confirms.
 *
 * librabbitmq-c 0.11 has no confirm-wait helper: confirms arrive as
 * basic.ack / basic.nack method frames on the channel, possibly covering a range
 * of tags ("multiple"), and are read here with amqp_simple_wait_frame_noblock. */
#include "amqp_session.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "config.h"
#include "errors.h"

#define CHANNEL 1
#define CONNECT_TIMEOUT_S 5 /* the whole connect: TCP, login, channel, confirm mode */
#define RPC_TIMEOUT_S 5     /* each later RPC (declare, close, ...) */

/* Where the assembly of a received message stands. */
enum { ASM_NONE = 0, ASM_HEADER, ASM_BODY };

struct lsys_amqp_msg {
  uint64_t tag;
  int redelivered;
  amqp_pool_t pool;              /* holds the copies of props' strings and headers */
  amqp_basic_properties_t props;
  char *body;                    /* len bytes + NUL */
  size_t len, got;
};

struct lsys_amqp {
  amqp_connection_state_t conn;
  int confirms;
  int broken;       /* the connection is unusable: only destroy is left */
  uint64_t next_tag; /* delivery tag of the next publish in confirm mode */
  char why[300];     /* why it broke, when known (no credentials) */
  char ctag[256];    /* consumer tag; "" when not consuming */
  int asm_stage;     /* ASM_*: a basic.deliver / get-ok whose content is coming */
  lsys_amqp_msg *partial;
};

/* set_broken marks s unusable and remembers why (first reason wins). */
static void set_broken(lsys_amqp *s, const char *why) {
  if (!s->broken && why)
    snprintf(s->why, sizeof s->why, "%s", why);
  s->broken = 1;
}

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

/* remaining sets *tv to what is left of CONNECT_TIMEOUT_S since *t0;
 * LSYS_ETIMEDOUT when nothing is. */
static int remaining(const struct timespec *t0, struct timeval *tv) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long left_us = (long long)CONNECT_TIMEOUT_S * 1000000 -
                      ((long long)(now.tv_sec - t0->tv_sec) * 1000000 +
                       (now.tv_nsec - t0->tv_nsec) / 1000);
  if (left_us <= 0)
    return LSYS_ETIMEDOUT;
  tv->tv_sec = left_us / 1000000;
  tv->tv_usec = left_us % 1000000;
  return LSYS_OK;
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
  /* One budget for every step of the connect, so that a broker that accepts
   * TCP but does not answer (e.g. while it stops) holds its caller at most
   * CONNECT_TIMEOUT_S, not a timeout per step. */
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int st = amqp_socket_open_noblock(sock, ci.host, ci.port, &tv);
  if (st != AMQP_STATUS_OK) {
    snprintf(err, errlen, "cannot connect to %s: %s", masked, amqp_error_string2(st));
    goto fail;
  }
  if (remaining(&t0, &tv) != LSYS_OK) {
    snprintf(err, errlen, "cannot connect to %s: timed out", masked);
    goto fail;
  }
  amqp_set_handshake_timeout(s->conn, &tv);
  amqp_set_rpc_timeout(s->conn, &tv);
  r = amqp_login(s->conn, ci.vhost, 0, 131072, heartbeat_s, AMQP_SASL_METHOD_PLAIN, ci.user,
                 ci.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    char what[600];
    snprintf(what, sizeof what, "login to %s", masked);
    rpc_error(r, what, err, errlen);
    goto fail;
  }
  if (remaining(&t0, &tv) != LSYS_OK) {
    snprintf(err, errlen, "login to %s: timed out", masked);
    goto fail;
  }
  amqp_set_rpc_timeout(s->conn, &tv);
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
  amqp_set_rpc_timeout(s->conn, &rpc_tv);
  /* A broker that stops reading (alarm, stall) must not block a publish for
   * ever: a write that makes no progress for RPC_TIMEOUT_S fails instead. */
  setsockopt(amqp_get_sockfd(s->conn), SOL_SOCKET, SO_SNDTIMEO, &rpc_tv, sizeof rpc_tv);
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
  return lsys_amqp_declare(s, queue, NULL, 0, err, errlen) == LSYS_OK ? LSYS_OK : LSYS_ECONN;
}

/* publish_props publishes body to queue with props (see lsys_amqp_publish). */
static int publish_props(lsys_amqp *s, const char *queue, const amqp_basic_properties_t *props,
                         amqp_bytes_t body, uint64_t *tag) {
  if (s->broken)
    return LSYS_ECONN;
  int st = amqp_basic_publish(s->conn, CHANNEL, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0,
                              props, body);
  if (st != AMQP_STATUS_OK) {
    char why[200];
    snprintf(why, sizeof why, "publish failed: %s", amqp_error_string2(st));
    set_broken(s, why);
    return LSYS_ECONN;
  }
  if (tag)
    *tag = s->confirms ? s->next_tag : 0;
  if (s->confirms)
    s->next_tag++;
  return LSYS_OK;
}

int lsys_amqp_publish(lsys_amqp *s, const char *queue, const char *body, size_t len,
                      const char *message_id, uint64_t *tag) {
  amqp_basic_properties_t props;
  amqp_bytes_t b = {len, (void *)body};

  memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;
  if (message_id && *message_id) {
    props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    props.message_id = amqp_cstring_bytes(message_id);
  }
  return publish_props(s, queue, &props, b, tag);
}

/* close_reason words a channel.close / connection.close method frame. */
static void close_reason(lsys_amqp *s, const amqp_frame_t *f) {
  char why[sizeof s->why];
  if (f->payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const amqp_channel_close_t *m = f->payload.method.decoded;
    snprintf(why, sizeof why, "broker closed the channel: %u %.*s", m->reply_code,
             (int)m->reply_text.len, (const char *)m->reply_text.bytes);
  } else {
    const amqp_connection_close_t *m = f->payload.method.decoded;
    snprintf(why, sizeof why, "broker closed the connection: %u %.*s", m->reply_code,
             (int)m->reply_text.len, (const char *)m->reply_text.bytes);
  }
  set_broken(s, why);
}

/* clone_bytes copies the bytes of *b into pool and points *b at the copy. */
static int clone_bytes(amqp_pool_t *pool, amqp_bytes_t *b) {
  void *copy;
  if (b->len == 0)
    return LSYS_OK;
  if ((copy = amqp_pool_alloc(pool, b->len)) == NULL)
    return LSYS_ENOMEM;
  memcpy(copy, b->bytes, b->len);
  b->bytes = copy;
  return LSYS_OK;
}

/* clone_props copies src (which lives in the connection's frame pool, reused
 * by the next read) into m's own pool. Only the fields flagged present are
 * decoded (the others hold whatever the pool held before): they are zeroed. */
static int clone_props(lsys_amqp_msg *m, const amqp_basic_properties_t *src) {
  amqp_basic_properties_t *p = &m->props;
  struct {
    amqp_flags_t flag;
    amqp_bytes_t *field;
  } fields[] = {{AMQP_BASIC_CONTENT_TYPE_FLAG, &p->content_type},
                {AMQP_BASIC_CONTENT_ENCODING_FLAG, &p->content_encoding},
                {AMQP_BASIC_CORRELATION_ID_FLAG, &p->correlation_id},
                {AMQP_BASIC_REPLY_TO_FLAG, &p->reply_to},
                {AMQP_BASIC_EXPIRATION_FLAG, &p->expiration},
                {AMQP_BASIC_MESSAGE_ID_FLAG, &p->message_id},
                {AMQP_BASIC_TYPE_FLAG, &p->type},
                {AMQP_BASIC_USER_ID_FLAG, &p->user_id},
                {AMQP_BASIC_APP_ID_FLAG, &p->app_id},
                {AMQP_BASIC_CLUSTER_ID_FLAG, &p->cluster_id}};
  *p = *src;
  if (!(p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG))
    p->delivery_mode = 0;
  if (!(p->_flags & AMQP_BASIC_PRIORITY_FLAG))
    p->priority = 0;
  if (!(p->_flags & AMQP_BASIC_TIMESTAMP_FLAG))
    p->timestamp = 0;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (!(p->_flags & fields[i].flag))
      *fields[i].field = amqp_empty_bytes;
    else if (clone_bytes(&m->pool, fields[i].field) != LSYS_OK)
      return LSYS_ENOMEM;
  }
  if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
    amqp_table_t copy;
    if (amqp_table_clone(&src->headers, &copy, &m->pool) != AMQP_STATUS_OK)
      return LSYS_ENOMEM;
    p->headers = copy;
  } else {
    p->headers = amqp_empty_table;
  }
  return LSYS_OK;
}

/* start_message begins assembling a message announced by basic.deliver or
 * basic.get-ok; its content header and body frames follow. */
static int start_message(lsys_amqp *s, uint64_t tag, int redelivered) {
  lsys_amqp_msg *m = calloc(1, sizeof *m);
  if (!m)
    return LSYS_ENOMEM;
  init_amqp_pool(&m->pool, 1024);
  m->tag = tag;
  m->redelivered = redelivered;
  lsys_amqp_msg_free(s->partial);
  s->partial = m;
  s->asm_stage = ASM_HEADER;
  return LSYS_OK;
}

/* finish_message hands the assembled message to the owner. */
static void finish_message(lsys_amqp *s, const lsys_amqp_events *ev) {
  lsys_amqp_msg *m = s->partial;
  s->partial = NULL;
  s->asm_stage = ASM_NONE;
  m->body[m->len] = '\0';
  if (ev && ev->message)
    ev->message(ev->arg, m);
  else
    lsys_amqp_msg_free(m);
}

/* content_frame takes a content header or body frame of the message being
 * assembled (others, e.g. a basic.return's content, are ignored). */
static int content_frame(lsys_amqp *s, const amqp_frame_t *f, const lsys_amqp_events *ev) {
  lsys_amqp_msg *m = s->partial;
  if (f->channel != CHANNEL || !m)
    return LSYS_OK;
  if (f->frame_type == AMQP_FRAME_HEADER && s->asm_stage == ASM_HEADER) {
    uint64_t size = f->payload.properties.body_size;
    if (size >= SIZE_MAX / 2) {
      set_broken(s, "message body too large");
      return LSYS_ECONN;
    }
    if (clone_props(m, f->payload.properties.decoded) != LSYS_OK ||
        (m->body = malloc((size_t)size + 1)) == NULL)
      return LSYS_ENOMEM;
    m->len = (size_t)size;
    s->asm_stage = ASM_BODY;
  } else if (f->frame_type == AMQP_FRAME_BODY && s->asm_stage == ASM_BODY) {
    amqp_bytes_t b = f->payload.body_fragment;
    if (b.len > m->len - m->got) {
      set_broken(s, "protocol error: message body longer than announced");
      return LSYS_ECONN;
    }
    memcpy(m->body + m->got, b.bytes, b.len);
    m->got += b.len;
  } else {
    set_broken(s, "protocol error: unexpected content frame");
    return LSYS_ECONN;
  }
  if (s->asm_stage == ASM_BODY && m->got == m->len)
    finish_message(s, ev);
  return LSYS_OK;
}

/* handle_frame dispatches one frame; returns LSYS_ECONN when the broker
 * closed the channel or connection (or broke the protocol), LSYS_ENOMEM. */
static int handle_frame(lsys_amqp *s, const amqp_frame_t *f, const lsys_amqp_events *ev) {
  if (f->frame_type == AMQP_FRAME_HEADER || f->frame_type == AMQP_FRAME_BODY)
    return content_frame(s, f, ev);
  if (f->frame_type != AMQP_FRAME_METHOD)
    return LSYS_OK; /* heartbeats queued by the library during a write */
  switch (f->payload.method.id) {
  case AMQP_BASIC_ACK_METHOD: {
    const amqp_basic_ack_t *m = f->payload.method.decoded;
    if (ev->confirm)
      ev->confirm(ev->arg, m->delivery_tag, m->multiple, 1);
    return LSYS_OK;
  }
  case AMQP_BASIC_NACK_METHOD: {
    const amqp_basic_nack_t *m = f->payload.method.decoded;
    if (ev->confirm)
      ev->confirm(ev->arg, m->delivery_tag, m->multiple, 0);
    return LSYS_OK;
  }
  case AMQP_BASIC_DELIVER_METHOD: {
    const amqp_basic_deliver_t *m = f->payload.method.decoded;
    return start_message(s, m->delivery_tag, m->redelivered);
  }
  case AMQP_BASIC_GET_OK_METHOD: {
    const amqp_basic_get_ok_t *m = f->payload.method.decoded;
    return start_message(s, m->delivery_tag, m->redelivered);
  }
  case AMQP_BASIC_GET_EMPTY_METHOD:
    if (ev->get_empty)
      ev->get_empty(ev->arg);
    return LSYS_OK;
  case AMQP_BASIC_CANCEL_METHOD: /* the broker cancelled our consumer */
    s->ctag[0] = '\0';
    if (ev->cancelled)
      ev->cancelled(ev->arg);
    return LSYS_OK;
  case AMQP_CHANNEL_CLOSE_METHOD:
  case AMQP_CONNECTION_CLOSE_METHOD:
    close_reason(s, f);
    return LSYS_ECONN;
  default:
    return LSYS_OK;
  }
}

/* read_error turns a failed frame read into LSYS_ECONN with a reason. */
static int read_error(lsys_amqp *s, int st) {
  char why[200];
  snprintf(why, sizeof why, "%s", amqp_error_string2(st));
  set_broken(s, why);
  return LSYS_ECONN;
}

/* frame_error ends the session after handle_frame failed with rc: a message
 * that could not be assembled would otherwise stay unacknowledged for ever. */
static int frame_error(lsys_amqp *s, int rc) {
  if (rc == LSYS_ENOMEM)
    set_broken(s, "out of memory while reading a message");
  return LSYS_ECONN;
}

int lsys_amqp_pump(lsys_amqp *s, int timeout_ms, const lsys_amqp_events *ev) {
  amqp_frame_t f;
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  int st, rc;

  if (s->broken)
    return LSYS_ECONN;
  st = amqp_simple_wait_frame_noblock(s->conn, &f, &tv);
  if (st == AMQP_STATUS_TIMEOUT)
    return LSYS_OK;
  if (st != AMQP_STATUS_OK)
    return read_error(s, st);
  if ((rc = handle_frame(s, &f, ev)) != LSYS_OK)
    return frame_error(s, rc);
  /* Drain whatever else is already buffered without blocking. */
  while (amqp_frames_enqueued(s->conn) || amqp_data_in_buffer(s->conn)) {
    struct timeval zero = {0, 0};
    st = amqp_simple_wait_frame_noblock(s->conn, &f, &zero);
    if (st == AMQP_STATUS_TIMEOUT)
      break;
    if (st != AMQP_STATUS_OK)
      return read_error(s, st);
    if ((rc = handle_frame(s, &f, ev)) != LSYS_OK)
      return frame_error(s, rc);
  }
  amqp_maybe_release_buffers(s->conn);
  return LSYS_OK;
}

int lsys_amqp_poll(lsys_amqp *s, int timeout_ms, lsys_amqp_confirm_fn fn, void *arg) {
  lsys_amqp_events ev = {.arg = arg, .confirm = fn};
  return lsys_amqp_pump(s, timeout_ms, &ev);
}

void lsys_amqp_abandon(lsys_amqp *s) {
  if (s)
    set_broken(s, "abandoned");
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
  lsys_amqp_msg_free(s->partial);
  free(s);
}


/* rpc_failed words a failed RPC into err, marks s broken (a server exception
 * closes the channel; a library one leaves the connection in an unknown
 * state) and returns LSYS_ECONFIG for PRECONDITION_FAILED, else LSYS_ECONN. */
static int rpc_failed(lsys_amqp *s, amqp_rpc_reply_t r, const char *what, char *err,
                      size_t errlen) {
  char buf[sizeof s->why];
  int code = 0;
  rpc_error(r, what, buf, sizeof buf);
  if (err && errlen)
    snprintf(err, errlen, "%s", buf);
  if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
    code = ((const amqp_channel_close_t *)r.reply.decoded)->reply_code;
  set_broken(s, buf);
  return code == AMQP_PRECONDITION_FAILED ? LSYS_ECONFIG : LSYS_ECONN;
}

/* check_usable fails an RPC up front on a broken session. */
static int check_usable(lsys_amqp *s, const char *what, char *err, size_t errlen) {
  if (!s->broken)
    return LSYS_OK;
  if (err && errlen)
    snprintf(err, errlen, "%s: connection lost (%s)", what, s->why[0] ? s->why : "unknown");
  return LSYS_ECONN;
}

/* field_entry converts f (STR or INT) to an AMQP table entry; f's strings are
 * borrowed. */
static amqp_table_entry_t field_entry(const lsys_amqp_field *f) {
  amqp_table_entry_t e;
  memset(&e, 0, sizeof e);
  e.key = amqp_cstring_bytes(f->key);
  if (f->kind == LSYS_AMQP_FIELD_INT) {
    e.value.kind = AMQP_FIELD_KIND_I64;
    e.value.value.i64 = (int64_t)f->num;
  } else {
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_cstring_bytes(f->str ? f->str : "");
  }
  return e;
}

int lsys_amqp_declare(lsys_amqp *s, const char *queue, const lsys_amqp_field *args, size_t n,
                      char *err, size_t errlen) {
  char what[300];
  amqp_table_entry_t *entries = NULL;
  amqp_table_t table = amqp_empty_table;
  amqp_rpc_reply_t r;
  size_t k = 0;
  int rc;

  snprintf(what, sizeof what, "queue.declare %s", queue);
  if ((rc = check_usable(s, what, err, errlen)) != LSYS_OK)
    return rc;
  if (n > 0) {
    if ((entries = calloc(n, sizeof *entries)) == NULL) {
      snprintf(err, errlen, "%s: out of memory", what);
      return LSYS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
      if (args[i].kind != LSYS_AMQP_FIELD_DEL)
        entries[k++] = field_entry(&args[i]);
    table.num_entries = (int)k;
    table.entries = entries;
  }
  amqp_queue_declare(s->conn, CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0, table);
  r = amqp_get_rpc_reply(s->conn);
  free(entries);
  if (r.reply_type != AMQP_RESPONSE_NORMAL)
    return rpc_failed(s, r, what, err, errlen);
  return LSYS_OK;
}

int lsys_amqp_queue_depth(lsys_amqp *s, const char *queue, uint32_t *messages,
                          uint32_t *consumers, char *err, size_t errlen) {
  char what[300];
  amqp_queue_declare_ok_t *ok;
  int rc;

  snprintf(what, sizeof what, "queue.declare (passive) %s", queue);
  if ((rc = check_usable(s, what, err, errlen)) != LSYS_OK)
    return rc;
  ok = amqp_queue_declare(s->conn, CHANNEL, amqp_cstring_bytes(queue), 1, 0, 0, 0,
                          amqp_empty_table);
  if (!ok) {
    rpc_failed(s, amqp_get_rpc_reply(s->conn), what, err, errlen);
    return LSYS_ECONN;
  }
  if (messages)
    *messages = ok->message_count;
  if (consumers)
    *consumers = ok->consumer_count;
  return LSYS_OK;
}

int lsys_amqp_qos(lsys_amqp *s, int prefetch, char *err, size_t errlen) {
  int rc = check_usable(s, "basic.qos", err, errlen);
  if (rc != LSYS_OK)
    return rc;
  if (prefetch < 0 || prefetch > 65535)
    prefetch = 65535;
  if (!amqp_basic_qos(s->conn, CHANNEL, 0, (uint16_t)prefetch, 0))
    return rpc_failed(s, amqp_get_rpc_reply(s->conn), "basic.qos", err, errlen);
  return LSYS_OK;
}

int lsys_amqp_consume(lsys_amqp *s, const char *queue, char *err, size_t errlen) {
  char what[300];
  amqp_basic_consume_ok_t *ok;
  int rc;

  snprintf(what, sizeof what, "basic.consume %s", queue);
  if ((rc = check_usable(s, what, err, errlen)) != LSYS_OK)
    return rc;
  ok = amqp_basic_consume(s->conn, CHANNEL, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                          amqp_empty_table);
  if (!ok)
    return rpc_failed(s, amqp_get_rpc_reply(s->conn), what, err, errlen);
  snprintf(s->ctag, sizeof s->ctag, "%.*s", (int)ok->consumer_tag.len,
           (const char *)ok->consumer_tag.bytes);
  return LSYS_OK;
}

int lsys_amqp_cancel(lsys_amqp *s, char *err, size_t errlen) {
  int rc = check_usable(s, "basic.cancel", err, errlen);
  if (rc != LSYS_OK || s->ctag[0] == '\0')
    return rc;
  if (!amqp_basic_cancel(s->conn, CHANNEL, amqp_cstring_bytes(s->ctag)))
    return rpc_failed(s, amqp_get_rpc_reply(s->conn), "basic.cancel", err, errlen);
  s->ctag[0] = '\0';
  return LSYS_OK;
}

int lsys_amqp_get(lsys_amqp *s, const char *queue) {
  amqp_basic_get_t req;
  if (s->broken)
    return LSYS_ECONN;
  memset(&req, 0, sizeof req);
  req.queue = amqp_cstring_bytes(queue);
  req.no_ack = 0;
  int st = amqp_send_method(s->conn, CHANNEL, AMQP_BASIC_GET_METHOD, &req);
  if (st != AMQP_STATUS_OK)
    return read_error(s, st);
  return LSYS_OK;
}

int lsys_amqp_ack(lsys_amqp *s, uint64_t tag, int multiple) {
  if (s->broken)
    return LSYS_ECONN;
  int st = amqp_basic_ack(s->conn, CHANNEL, tag, multiple ? 1 : 0);
  return st == AMQP_STATUS_OK ? LSYS_OK : read_error(s, st);
}

int lsys_amqp_reject(lsys_amqp *s, uint64_t tag, int requeue) {
  if (s->broken)
    return LSYS_ECONN;
  int st = amqp_basic_nack(s->conn, CHANNEL, tag, 0, requeue ? 1 : 0);
  return st == AMQP_STATUS_OK ? LSYS_OK : read_error(s, st);
}

/* key_in tells whether key (bytes) is the key of one of set[0..n). */
static int key_in(amqp_bytes_t key, const lsys_amqp_field *set, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strlen(set[i].key) == key.len && memcmp(set[i].key, key.bytes, key.len) == 0)
      return 1;
  return 0;
}

int lsys_amqp_republish(lsys_amqp *s, const char *queue, const lsys_amqp_msg *m,
                        const lsys_amqp_field *set, size_t n, const char *expiration,
                        uint64_t *tag) {
  amqp_basic_properties_t p = m->props;
  const amqp_table_t *old = &m->props.headers;
  size_t have = (p._flags & AMQP_BASIC_HEADERS_FLAG) ? (size_t)old->num_entries : 0, k = 0;
  amqp_table_entry_t *entries = NULL;
  amqp_bytes_t body = {m->len, m->body};
  int rc;

  if (s->broken)
    return LSYS_ECONN;
  if (have + n > 0 && (entries = calloc(have + n, sizeof *entries)) == NULL)
    return LSYS_ENOMEM;
  for (size_t i = 0; i < have; i++)
    if (!key_in(old->entries[i].key, set, n))
      entries[k++] = old->entries[i];
  for (size_t i = 0; i < n; i++)
    if (set[i].kind != LSYS_AMQP_FIELD_DEL)
      entries[k++] = field_entry(&set[i]);
  p.headers.num_entries = (int)k;
  p.headers.entries = entries;
  p._flags = k ? (p._flags | AMQP_BASIC_HEADERS_FLAG) : (p._flags & ~AMQP_BASIC_HEADERS_FLAG);
  p._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
  p.delivery_mode = 2;
  if (!(p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)) {
    p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
  }
  if (expiration) {
    p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
    p.expiration = amqp_cstring_bytes(expiration);
  } else {
    p._flags &= ~AMQP_BASIC_EXPIRATION_FLAG;
  }
  rc = publish_props(s, queue, &p, body, tag);
  free(entries);
  return rc;
}

const char *lsys_amqp_error(const lsys_amqp *s) { return s ? s->why : ""; }

uint64_t lsys_amqp_msg_tag(const lsys_amqp_msg *m) { return m->tag; }

int lsys_amqp_msg_redelivered(const lsys_amqp_msg *m) { return m->redelivered; }

const char *lsys_amqp_msg_body(const lsys_amqp_msg *m, size_t *len) {
  if (len)
    *len = m->len;
  return m->body;
}

int lsys_amqp_msg_message_id(const lsys_amqp_msg *m, char *buf, size_t len) {
  amqp_bytes_t id = m->props.message_id;
  if (!(m->props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) || id.len == 0 || id.len >= len ||
      memchr(id.bytes, '\0', id.len))
    return 0;
  memcpy(buf, id.bytes, id.len);
  buf[id.len] = '\0';
  return 1;
}

/* find_header returns header key of m, or NULL. */
static const amqp_field_value_t *find_header(const lsys_amqp_msg *m, const char *key) {
  const amqp_table_t *t = &m->props.headers;
  size_t n = strlen(key);
  if (!(m->props._flags & AMQP_BASIC_HEADERS_FLAG))
    return NULL;
  for (int i = 0; i < t->num_entries; i++)
    if (t->entries[i].key.len == n && memcmp(t->entries[i].key.bytes, key, n) == 0)
      return &t->entries[i].value;
  return NULL;
}

int lsys_amqp_msg_header_int(const lsys_amqp_msg *m, const char *key, long long *out) {
  const amqp_field_value_t *v = find_header(m, key);
  char digits[24];
  char *end = NULL;
  if (!v)
    return 0;
  switch (v->kind) {
  case AMQP_FIELD_KIND_I8: *out = v->value.i8; return 1;
  case AMQP_FIELD_KIND_U8: *out = v->value.u8; return 1;
  case AMQP_FIELD_KIND_I16: *out = v->value.i16; return 1;
  case AMQP_FIELD_KIND_U16: *out = v->value.u16; return 1;
  case AMQP_FIELD_KIND_I32: *out = v->value.i32; return 1;
  case AMQP_FIELD_KIND_U32: *out = v->value.u32; return 1;
  case AMQP_FIELD_KIND_I64: *out = (long long)v->value.i64; return 1;
  case AMQP_FIELD_KIND_U64:
    *out = v->value.u64 > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)v->value.u64;
    return 1;
  case AMQP_FIELD_KIND_UTF8:
  case AMQP_FIELD_KIND_BYTES:
    if (v->value.bytes.len == 0 || v->value.bytes.len >= sizeof digits)
      return 0;
    memcpy(digits, v->value.bytes.bytes, v->value.bytes.len);
    digits[v->value.bytes.len] = '\0';
    *out = strtoll(digits, &end, 10);
    return *end == '\0';
  default:
    return 0;
  }
}

int lsys_amqp_msg_header_str(const lsys_amqp_msg *m, const char *key, char *buf, size_t len) {
  const amqp_field_value_t *v = find_header(m, key);
  if (!v || (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES) || len == 0)
    return 0;
  snprintf(buf, len, "%.*s", (int)v->value.bytes.len, (const char *)v->value.bytes.bytes);
  return 1;
}

void lsys_amqp_msg_free(lsys_amqp_msg *m) {
  if (!m)
    return;
  empty_amqp_pool(&m->pool);
  free(m->body);
  free(m);
}
