/* tg_ids.h - what a Telegram bot token and a chat id may look like: one rule for
 * the configuration (LOGSYS_TG_*) and for credentials found in queue messages. */
#ifndef LSYS_TG_IDS_H
#define LSYS_TG_IDS_H

/* lsys_tg_ids_token_valid: 1..256 letters, digits, ':', '_', '-', '.' (real
 * tokens are 123456:ABC-DEF...), so a token can go into the URL path as is. */
int lsys_tg_ids_token_valid(const char *token);

/* lsys_tg_ids_chat_valid: -?digits (kept as text: ids exceed 2^53) or @name,
 * 1..64 characters after the sign or '@'. */
int lsys_tg_ids_chat_valid(const char *chat_id);

#endif
