/* tg_ids.c - Telegram bot token and chat id rules. */
#include "tg_ids.h"

#include <ctype.h>
#include <string.h>

int lsys_tg_ids_token_valid(const char *token) {
  size_t n = strlen(token);
  for (const char *p = token; *p; p++)
    if (!isalnum((unsigned char)*p) && strchr(":_-.", *p) == NULL)
      return 0;
  return n > 0 && n <= 256;
}

int lsys_tg_ids_chat_valid(const char *chat_id) {
  const char *p = chat_id;
  size_t n = 0;
  if (*p == '@') {
    for (p++; isalnum((unsigned char)*p) || *p == '_'; p++)
      n++;
  } else {
    if (*p == '-')
      p++;
    for (; isdigit((unsigned char)*p); p++)
      n++;
  }
  return *p == '\0' && n > 0 && n <= 64;
}
