/* applet.h - how every applet starts */
#ifndef SB_APPLET_H
#define SB_APPLET_H

#include "cli.h"

/* Starts an applet: cli_init, and descriptors 0-2 kept taken (on /dev/null if closed), so
 * that no received connection lands there. */
void applet_init(const char *name, const char *usage);

#endif
