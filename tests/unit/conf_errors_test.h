/*
 * conf_errors_test.h - the one assertion the config and users tests share:
 * that a conf_errors buffer holds "FILE:LINE: ...reason..." for the file,
 * line and reason given (LINE 0: "FILE: ..."): the place exactly, the
 * reason anywhere in that line. Include after <cmocka.h>.
 */
#ifndef SOCKS64_CONF_ERRORS_TEST_H
#define SOCKS64_CONF_ERRORS_TEST_H

#include <stdio.h>
#include <string.h>

#include "conflex.h"

static void
assert_error(const struct conf_errors *e, const char *file,
    unsigned int line, const char *reason)
{
	char		 head[4096 + 32], text[sizeof(e->text)], *l, *save;

	if (line != 0)
		snprintf(head, sizeof(head), "%s:%u: ", file, line);
	else
		snprintf(head, sizeof(head), "%s: ", file);
	memcpy(text, e->text, sizeof(text));
	text[sizeof(text) - 1] = '\0';
	for (l = strtok_r(text, "\n", &save); l != NULL;
	    l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, head, strlen(head)) == 0 &&
		    strstr(l + strlen(head), reason) != NULL)
			return;
	fail_msg("wanted \"%s...%s\" in:\n%s", head, reason, e->text);
}

#endif /* SOCKS64_CONF_ERRORS_TEST_H */
