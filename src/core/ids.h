/* ids.h - user and group names or numbers, resolved one way by every program */
#ifndef SB_IDS_H
#define SB_IDS_H

#include <sys/types.h>

/* A user: a name in the user database wins; otherwise a decimal number (digits only, at
 * most 2147483647). Sets *uid and *gid (the user's primary group, or (gid_t)-1 for a
 * number without a passwd entry; gid may be NULL). Returns 0, or -1 with errno ENOENT. */
int ids_user(const char *user, uid_t *uid, gid_t *gid);

/* A group, the same way. Returns 0, or -1 with errno ENOENT. */
int ids_group(const char *group, gid_t *gid);

/* Switches the whole process to user (its groups, then its uid, real, effective and
 * saved). Exits with a message on failure. */
void ids_become(const char *user);

#endif
