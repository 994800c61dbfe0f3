/* fdlimit.h - room for descriptors: every program holds one or more per connection */
#ifndef SB_FDLIMIT_H
#define SB_FDLIMIT_H

/* Raises the soft descriptor limit to the hard one; logs when that fails. */
void fdlimit_raise(void);

#endif
