/* privs.c - giving up identity and every capability after start-up */
#include "privs.h"
#include "ids.h"
#include "log.h"

#include <cap-ng.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* What privs_drop will do, the names looked up. */
struct privs_plan {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	unsigned ngroups;
	bool set_groups; /* call setgroups(groups) */
};

static bool privs_capable(unsigned cap)
{
	return capng_have_capability(CAPNG_EFFECTIVE, cap);
}

/* Whether the supplementary groups are already the wanted ones, not counting the wanted
 * primary group (holding it twice grants nothing). */
static bool privs_groups_held(const struct privs_plan *pl)
{
	int n = getgroups(0, NULL);
	gid_t *cur = n > 0 ? calloc((size_t)n, sizeof(gid_t)) : NULL;
	bool same = n >= 0;

	if (n > 0 && (cur == NULL || (n = getgroups(n, cur)) < 0))
		same = false;
	for (int i = 0; same && i < n; i++) {
		same = cur[i] == pl->gid;
		for (unsigned j = 0; !same && j < pl->ngroups; j++)
			same = cur[i] == pl->groups[j];
	}
	for (unsigned j = 0; same && j < pl->ngroups; j++) {
		same = pl->groups[j] == pl->gid;
		for (int i = 0; !same && i < n; i++)
			same = cur[i] == pl->groups[j];
	}
	free(cur);
	return same;
}

/* Looks up the names of p, before a chroot hides /etc. Returns the setting that names
 * nothing, with why, or NULL; pl->groups is the caller's to free either way. */
static const char *privs_plan(const struct privs *p, struct privs_plan *pl, char *why, size_t len)
{
	const char *bad, *kind = "group", *name;

	*pl = (struct privs_plan){.uid = getuid(), .gid = getgid()};
	if (p->user && ids_user(p->user, &pl->uid, &pl->gid) < 0) {
		bad = "user", kind = "user", name = p->user;
		goto unknown;
	}
	/* No passwd entry, so no primary group: never keep ours (root's). */
	if (p->user && pl->gid == (gid_t)-1 && p->group == NULL) {
		snprintf(why, len, "user %s has no passwd entry; set a group too", p->user);
		return "user";
	}
	if (p->group && ids_group(p->group, &pl->gid) < 0) {
		bad = "group", name = p->group;
		goto unknown;
	}
	if (p->ngroups && (pl->groups = calloc(p->ngroups, sizeof(gid_t))) == NULL)
		fatal("out of memory");
	for (; pl->ngroups < p->ngroups; pl->ngroups++)
		if (ids_group(p->groups[pl->ngroups], &pl->groups[pl->ngroups]) < 0) {
			bad = "groups", name = p->groups[pl->ngroups];
			goto unknown;
		}

	/* Set them exactly when we may; without CAP_SETGID, groups that are already right
	 * (those a service manager gave the user) are just as good. */
	capng_get_caps_process();
	pl->set_groups = !p->keep_groups && (p->groups_set || p->user) &&
			 (privs_capable(CAP_SETGID) || !privs_groups_held(pl));
	return NULL;
unknown:
	snprintf(why, len, "no such %s \"%s\"", kind, name);
	return bad;
}

/* Whether id is the real, effective or saved ID: switching to it needs no capability. */
static bool privs_id_held(unsigned id, unsigned r, unsigned e, unsigned s)
{
	return id == r || id == e || id == s;
}

const char *privs_check(const struct privs *p, char *why, size_t len)
{
	struct privs_plan pl;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	const char *bad, *what = NULL, *cap = "CAP_SETGID";

	if ((bad = privs_plan(p, &pl, why, len)) != NULL)
		goto done;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		fatal("unable to read the process's identity");
	if (p->chroot && !privs_capable(CAP_SYS_CHROOT)) {
		bad = "chroot", what = "changing the root directory", cap = "CAP_SYS_CHROOT";
	} else if (p->user && !privs_id_held(pl.uid, ru, eu, su) && !privs_capable(CAP_SETUID)) {
		bad = "user", what = "switching to another user", cap = "CAP_SETUID";
	} else if ((p->user || p->group) && !privs_id_held(pl.gid, rg, eg, sg) &&
		   !privs_capable(CAP_SETGID)) {
		bad = p->group ? "group" : "user", what = "switching to another group";
	} else if (pl.set_groups && !privs_capable(CAP_SETGID)) {
		bad = p->groups_set ? "groups" : "user";
		what = p->groups_set ? "setting the supplementary groups"
				     : "clearing the supplementary groups (a user alone has none)";
	}
	if (bad)
		snprintf(why, len,
			 "%s needs %s, which socketbox (uid %u, gid %u) does not have; "
			 "leave the setting out where the service manager sets the identity, or "
			 "start socketbox with %s",
			 what, cap, (unsigned)eu, (unsigned)eg, cap);
done:
	free(pl.groups);
	return bad;
}

void privs_drop(const struct privs *p)
{
	struct privs_plan pl;
	char why[512];
	const char *bad;

	if ((bad = privs_plan(p, &pl, why, sizeof(why))) != NULL)
		fatalx("%s", why);

	if (p->chroot && (chroot(p->chroot) < 0 || chdir("/") < 0))
		fatal("unable to chroot to %s", p->chroot);

	/* The bounding set can only shrink while we still hold CAP_SETPCAP. */
	capng_get_caps_process();
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		capng_clear(CAPNG_SELECT_BOUNDS);
		if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
			fatalx("unable to clear the capability bounding set");
	}
	if (pl.set_groups && setgroups(pl.ngroups, pl.groups) < 0)
		fatal("unable to set the supplementary groups");
	free(pl.groups);
	if ((p->user || p->group) && setresgid(pl.gid, pl.gid, pl.gid) < 0)
		fatal("unable to switch to group %u", (unsigned)pl.gid);
	if (p->user && setresuid(pl.uid, pl.uid, pl.uid) < 0)
		fatal("unable to switch to user %u", (unsigned)pl.uid);

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
