/* privs.c - giving up identity and every capability after start-up */
#include "privs.h"
#include "ids.h"
#include "log.h"

#include <cap-ng.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static gid_t privs_gid(const char *name)
{
	gid_t gid;

	if (ids_group(name, &gid) < 0)
		fatalx("no such group \"%s\"", name);
	return gid;
}

void privs_drop(const struct privs *p)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	gid_t *groups = NULL;

	/* Resolve names before chroot hides /etc. */
	if (p->user) {
		if (ids_user(p->user, &uid, &gid) < 0)
			fatalx("no such user \"%s\"", p->user);
		/* No passwd entry, so no primary group: never keep ours (root's). */
		if (gid == (gid_t)-1 && p->group == NULL)
			fatalx("user %s has no passwd entry; set a group too", p->user);
	}
	if (p->group)
		gid = privs_gid(p->group);
	if (p->ngroups && (groups = calloc(p->ngroups, sizeof(gid_t))) == NULL)
		fatal("out of memory");
	for (unsigned i = 0; i < p->ngroups; i++)
		groups[i] = privs_gid(p->groups[i]);

	if (p->chroot && (chroot(p->chroot) < 0 || chdir("/") < 0))
		fatal("unable to chroot to %s", p->chroot);

	/* The bounding set can only shrink while we still hold CAP_SETPCAP. */
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		capng_clear(CAPNG_SELECT_BOUNDS);
		if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
			fatalx("unable to clear the capability bounding set");
	}
	if (!p->keep_groups && (p->groups_set || p->user) && setgroups(p->ngroups, groups) < 0)
		fatal("unable to set the supplementary groups");
	free(groups);
	if ((p->user || p->group) && setresgid(gid, gid, gid) < 0)
		fatal("unable to switch to group %u", (unsigned)gid);
	if (p->user && setresuid(uid, uid, uid) < 0)
		fatal("unable to switch to user %u", (unsigned)uid);

	capng_clear(CAPNG_SELECT_CAPS);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		fatalx("unable to drop capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fatal("unable to clear the ambient capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("unable to set no_new_privs");
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		fatalx("capabilities remain after dropping them");
}
