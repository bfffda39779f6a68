/* notify_template.h - renders the Telegram notify_msg text from a template.
 *
 * Placeholders: {time} {domain} {program} {level} {def_name} {message} {extra_info}
 * {hash} {log_id}; "{{" and "}}" are literal braces; an unknown placeholder is an
 * error at parse time. The default template is Traditional Chinese like the old
 * system's (time, domain, program, function, message, extra info). */
#ifndef LSYS_NOTIFY_TEMPLATE_H
#define LSYS_NOTIFY_TEMPLATE_H

#include <stddef.h>
#include "record.h"

typedef struct lsys_template lsys_template;

/* The default notify_msg template. */
extern const char LSYS_TEMPLATE_DEFAULT[];

/* lsys_template_create parses text (a "\n" two-character sequence means a newline,
 * so the template fits in one KEY=value line). On error returns LSYS_EINVAL and
 * writes a message naming the bad placeholder into err. *out is written only on
 * success; free it with lsys_template_destroy. */
int lsys_template_create(lsys_template **out, const char *text, char *err, size_t errlen);

/* lsys_template_render renders r (timestamp as "YYYY-MM-DD HH:MM:SS" local time)
 * into a new string; the caller frees *out with free(). */
int lsys_template_render(const lsys_template *t, const lsys_record *r, const char *domain, char **out);

/* lsys_template_destroy frees t; NULL is allowed. */
void lsys_template_destroy(lsys_template *t);

#endif
