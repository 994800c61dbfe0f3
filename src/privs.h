/* privs.h - giving up identity and every capability after start-up */
#ifndef SB_PRIVS_H
#define SB_PRIVS_H

#include <stdbool.h>

struct privs {
	const char *user, *group, *chroot; /* NULL: keep */
	char *const *groups;		   /* supplementary groups, names or numbers */
	unsigned ngroups;
	bool groups_set;  /* set exactly groups (else: none when user is set) */
	bool keep_groups; /* leave the supplementary groups alone */
};

/* Optionally chroots and switches to user/group, then drops every capability (effective,
 * permitted, inheritable, ambient and, when allowed, the bounding set) and sets
 * no_new_privs. Exits with a message on any failure: running with privileges we meant to
 * give up is never an option. */
void privs_drop(const struct privs *p);

#endif
