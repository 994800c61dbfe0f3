/* privs.h - giving up identity and every capability after start-up */
#ifndef SB_PRIVS_H
#define SB_PRIVS_H

#include <stdbool.h>
#include <stddef.h>

struct privs {
	const char *user, *group, *chroot; /* NULL: keep */
	char *const *groups;		   /* supplementary groups, names or numbers */
	unsigned ngroups;
	bool groups_set;  /* set exactly groups (else: none when user is set) */
	bool keep_groups; /* leave the supplementary groups alone */
};

/* Whether this process can apply p: names that exist, and the capability for every change
 * of identity (CAP_SYS_CHROOT for a chroot, CAP_SETGID for groups or another group,
 * CAP_SETUID for another user; switching to the IDs it already has needs none, and
 * without CAP_SETGID supplementary groups that are already as wanted are kept). Returns
 * the setting that cannot be applied ("user", "group", "groups" or "chroot") with a
 * sentence in why, or NULL. Called by -c and before start-up opens anything. */
const char *privs_check(const struct privs *p, char *why, size_t len);

/* Optionally chroots and switches to user/group, then drops every capability (effective,
 * permitted, inheritable, ambient and, when allowed, the bounding set) and sets
 * no_new_privs. Exits with a message on any failure: running with privileges we meant to
 * give up is never an option. */
void privs_drop(const struct privs *p);

#endif
