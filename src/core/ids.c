/* ids.c - user and group names or numbers, resolved one way by every program */
#include "ids.h"
#include "log.h"
#include "num.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

/* Only plain digits: num_parse alone would take "-0" or "+5" as numbers. */
static int ids_number(const char *s, long long *v)
{
	const char *errstr;

	if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s) ||
	    num_parse(s, 0, 0x7fffffff, v, &errstr) < 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int ids_user(const char *user, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw = getpwnam(user);
	long long v;

	if (pw) {
		*uid = pw->pw_uid;
		if (gid)
			*gid = pw->pw_gid;
		return 0;
	}
	if (ids_number(user, &v) < 0)
		return -1;
	*uid = (uid_t)v;
	if (gid)
		*gid = (gid_t)-1;
	return 0;
}

int ids_group(const char *group, gid_t *gid)
{
	const struct group *gr = getgrnam(group);
	long long v;

	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	if (ids_number(group, &v) < 0)
		return -1;
	*gid = (gid_t)v;
	return 0;
}

void ids_become(const char *user)
{
	const struct passwd *pw = getpwnam(user);

	if (pw == NULL)
		fatalx("unable to switch to user \"%s\": no such user", user);
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fatal("unable to switch to user %s", user);
}
