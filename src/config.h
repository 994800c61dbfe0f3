/* config.h - socketbox.conf(5): the loaded configuration */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include "rules.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_FILE "/etc/socketbox.conf"
#define CONFIG_DEFAULT_QUEUE 4096
#define CONFIG_MAX_QUEUE (1 << 20)
#define CONFIG_DEFAULT_QUEUE_TIMEOUT 5 /* seconds, as haproxy's "timeout queue" */
#define CONFIG_MAX_QUEUE_TIMEOUT 86400
#define CONFIG_MAX_PATHS 16
/* log_limit: messages of each kind a remote client can cause, per interval (seconds) */
#define CONFIG_DEFAULT_LOG_BURST 10
#define CONFIG_DEFAULT_LOG_INTERVAL 5
#define CONFIG_DEFAULT_STATS_MODE 0660
/* register_limit: registered applets per uid and per slot (see config_register.c) */
#define CONFIG_DEFAULT_REG_PER_UID 8
#define CONFIG_DEFAULT_REG_PER_SLOT 64
#define CONFIG_MAX_REG 4096
#define CONFIG_MAX_ALLOW 64

/* Listeners: how many, and the bounds of their names and namespace paths. Bit
 * CONFIG_MAX_LISTEN of a rule's listener mask stands for a running listener that a reloaded
 * file no longer names (see rules.h). */
#define CONFIG_MAX_LISTEN 31
#define CONFIG_LISTEN_NAME_MAX 64
#define CONFIG_NETNS_MAX 256
#define CONFIG_MAX_PROXY_FROM 32
#define CONFIG_DEFAULT_PROXY_TIMEOUT 3 /* seconds a PROXY header may take to arrive */
/* listen.workers: acceptor processes. More than cores gains nothing, and each worker holds
 * its own connection to every applet and its own counter block (workers.h). */
#define CONFIG_MAX_WORKERS 64

struct listen_conf {
	char name[CONFIG_LISTEN_NAME_MAX]; /* "listen[N]" unless named */
	char netns[CONFIG_NETNS_MAX];	   /* network namespace file, or "" */
	struct in6_addr address;
	unsigned port; /* 0: not set */
	bool transparent, freebind, reuseaddr, reuseport, v6only;
	bool clear_transparent; /* -z: accepted sockets without IPV6_TRANSPARENT */
	int backlog;
	int fd; /* an inherited listener, or -1 */
	/* PROXY protocol ingress: every connection starts with a header, accepted only from
	 * these sources. */
	bool proxy_protocol;
	unsigned proxy_timeout; /* seconds */
	struct in6_addr proxy_from[CONFIG_MAX_PROXY_FROM];
	uint8_t proxy_from_plen[CONFIG_MAX_PROXY_FROM];
	unsigned nproxy_from;
	/* Acceptor processes sharing every listener: the same in every listener group (0 or
	 * 1: one process, no supervisor). */
	unsigned workers;
};

struct target_conf {
	char *name;
	char *paths[CONFIG_MAX_PATHS]; /* templates, see subst.h */
	unsigned npaths;
	int fd;		/* an inherited datagram socket, or -1 */
	unsigned queue; /* bound on connections waiting for this target */
	unsigned queue_timeout; /* seconds one may wait before it is reset; 0: no limit */
	bool has_slot;		/* applets register for it: slot, allow */
	uint32_t slot;
	uid_t allow[CONFIG_MAX_ALLOW]; /* host uids that may register for the slot */
	unsigned nallow;
};

/* A registration socket applets connect to (SOCK_SEQPACKET). */
struct register_conf {
	char *path;
	unsigned mode;
};

struct config {
	char *file;
	struct listen_conf listen[CONFIG_MAX_LISTEN]; /* listen[0] always exists */
	unsigned nlisten;
	char *user, *group, *chroot;
	char **groups; /* supplementary groups by name or number */
	unsigned ngroups;
	bool groups_set; /* "groups" given: set exactly these (else: none, when user is set) */
	bool log_syslog;
	unsigned log_burst, log_interval; /* log_limit; interval 0: no limit */
	char *stats_path;   /* where the counters are served, or NULL */
	unsigned stats_mode; /* of the socket file */
	char *stats_group;  /* owning group of the socket file, or NULL */
	struct target_conf *targets;
	unsigned ntargets;
	struct register_conf *registers;
	unsigned nregisters;
	unsigned reg_per_uid, reg_per_slot; /* register_limit */
	struct rules *rules;
};

/* Called once per error with "FILE:LINE: setting: message". */
typedef void config_report_fn(void *ctx, const char *msg);

/* Loads and checks file. Returns the configuration, or NULL after reporting every error
 * found. */
struct config *config_load(const char *file, config_report_fn *report, void *ctx);

/* Like config_load, for a reload: user and group names are not looked up, since the
 * process may be inside a chroot without /etc/passwd (and cannot change identity anyway). */
struct config *config_reload(const char *file, config_report_fn *report, void *ctx);

/* Checks that every inherited target descriptor (fd = N) is an open UNIX socket, and makes
 * it close-on-exec. Returns the number of errors reported. */
unsigned config_check_fds(const struct config *cfg, config_report_fn *report, void *ctx);

/* A copy of the settings of cfg that take effect only at start-up (listen, user, group,
 * groups, chroot, log, stats), without targets or rules: what is kept to tell a reload what it
 * cannot apply. NULL when out of memory; config_free frees it. */
struct config *config_fixed_copy(const struct config *cfg);
/* The number of the listener called name, or -1. */
int config_listen_find(const struct config *cfg, const char *name);
/* Whether two listeners are the same socket with the same settings. */
bool config_listen_same(const struct listen_conf *a, const struct listen_conf *b);

/* Names the first start-up setting that differs between old and new ("listen", "user",
 * "group", "groups", "chroot", "log", "stats" or "register"), or NULL when they are all
 * the same. */
const char *config_fixed_diff(const struct config *old, const struct config *new);

/* "; targets added: a, b; targets removed: c" (at most 10 names each, then "and N more"),
 * or "; the same targets": what a reload from old to new changes, for its log line. */
void config_target_changes(const struct config *old, const struct config *new, char *buf,
			   size_t len);

/* A configuration without a file: every connection goes to one target. */
struct config *config_quick(const char *path, int fd);

void config_free(struct config *cfg);

#endif
