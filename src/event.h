/* event.h - what an epoll event of the acceptor belongs to (epoll_data.ptr points at one) */
#ifndef SB_EVENT_H
#define SB_EVENT_H

enum event_kind {
	EVENT_LISTENER,
	EVENT_SIGNAL,
	EVENT_TIMER,
	EVENT_SINK,
	EVENT_APPLET,
	EVENT_REGISTRY,
	EVENT_PROXY,
	EVENT_STATS,
};

struct event_source {
	enum event_kind kind;
};

#endif
