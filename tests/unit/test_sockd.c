/* test_sockd.c - socketbox-sockd's wire protocol, its configuration and one request at a
 * time through sockd_serve: the rules by uid and protocol, default deny, malformed
 * requests, and a real non-blocking connect to a local listener; the client's
 * non-blocking pair against a hand-made server: EAGAIN until the reply, then the socket or
 * the errno of the status, ENETUNREACH for no server or no reply. */
#include "addr.h"
#include "helpers.h"
#include "log.h"
#include "fdpass.h"
#include "sockd_client.h"
#include "sockd_config.h"
#include "sockd_proto.h"
#include "sockd_serve.h"
#include "unixsock.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void report(void *ctx, const char *msg)
{
	char *out = ctx;

	if (out && out[0] == '\0')
		snprintf(out, 512, "%s", msg);
}

static struct sockd_config *load(const char *text, char *first_error)
{
	char path[] = "/tmp/test_sockd.XXXXXX";
	int fd = mkstemp(path);
	struct sockd_config *cfg;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (first_error)
		first_error[0] = '\0';
	cfg = sockd_config_load(path, report, first_error);
	unlink(path);
	return cfg;
}

static void request(uint8_t op, uint8_t proto, const char *addr, uint16_t port,
		    uint8_t buf[SOCKD_REQ_LEN])
{
	struct sockd_request r = {.op = op, .proto = proto, .port = port};

	ck_assert_int_eq(addr_parse(addr, &r.addr), 0);
	sockd_request_encode(&r, buf);
}

START_TEST(test_proto)
{
	uint8_t buf[SOCKD_REQ_LEN], rbuf[SOCKD_REP_LEN];
	struct sockd_request r;
	struct sockd_reply rep = {.status = SOCKD_ESYSTEM, .err = ECONNREFUSED}, back;
	const char *why;

	request(SOCKD_CONNECT, SOCKD_TCP, "192.0.2.1", 443, buf);
	ck_assert_int_eq(buf[0], 1);
	ck_assert_int_eq(buf[4] << 8 | buf[5], 443);
	ck_assert_int_eq(buf[18], 0xff); /* ::ffff:192.0.2.1 */
	ck_assert_int_eq(buf[20], 192);
	ck_assert_int_eq(sockd_request_parse(buf, sizeof(buf), &r, &why), 0);
	ck_assert_int_eq(r.port, 443);
	ck_assert_int_eq(sockd_request_parse(buf, 23, &r, &why), -1);
	buf[3] = 0x80;
	ck_assert_int_eq(sockd_request_parse(buf, sizeof(buf), &r, &why), -1);
	ck_assert_str_eq(why, "unknown flags or reserved bytes set");
	request(SOCKD_CONNECT, SOCKD_TCP, "::1", 0, buf);
	ck_assert_int_eq(sockd_request_parse(buf, sizeof(buf), &r, &why), -1);
	request(SOCKD_BIND, SOCKD_UDP, "::", 0, buf);
	ck_assert_int_eq(sockd_request_parse(buf, sizeof(buf), &r, &why), 0);
	sockd_reply_encode(&rep, rbuf);
	ck_assert_int_eq(rbuf[7], ECONNREFUSED);
	ck_assert_int_eq(sockd_reply_parse(rbuf, sizeof(rbuf), &back), 0);
	ck_assert_int_eq(back.err, ECONNREFUSED);
	rbuf[1] = 9;
	ck_assert_int_eq(sockd_reply_parse(rbuf, sizeof(rbuf), &back), -1);
}
END_TEST

START_TEST(test_config_errors)
{
	char err[512];

	ck_assert_ptr_null(load("connect = ( { remote = \"10.0.0.0/8\"; uid = \"x\"; "
				"action = \"allow\"; } );\n", err));
	ck_assert_msg(strstr(err, ":1: connect[0].uid: must be a number") != NULL, "%s", err);
	ck_assert_ptr_null(load("bind = ( { remote = \"::\"; action = \"allow\"; } );\n", err));
	ck_assert_msg(strstr(err, "bind[0]: unknown setting \"remote\"") != NULL, "%s", err);
	ck_assert_ptr_null(load("client_timeout = -1;\n", err));
	ck_assert_msg(strstr(err, "client_timeout: -1 is out of range") != NULL, "%s", err);
}
END_TEST

/* Serves one request of uid; returns the status, closing any socket. */
static int serve(struct sockd_server *sv, uid_t uid, const uint8_t *buf, size_t len)
{
	struct sockd_reply rep;
	int fd;

	sockd_serve(sv, uid, buf, len, NULL, &rep, &fd);
	ck_assert_int_eq(rep.status == SOCKD_OK, fd >= 0);
	if (fd >= 0)
		close(fd);
	return rep.status;
}

START_TEST(test_serve)
{
	struct sockd_server sv = {0};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	uint8_t buf[SOCKD_REQ_LEN];
	int l = socket(AF_INET, SOCK_STREAM, 0), fds = open_fds();
	uint16_t port;

	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 16), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	sv.cfg = load("connect = (\n"
		      "  { remote = \"127.0.0.0/8\"; uid = [ 0, 7 ]; protocol = \"tcp\"; "
		      "action = \"allow\"; },\n"
		      "  { remote = \"127.0.0.1\"; action = \"deny\"; } );\n"
		      "bind = ( { local = \"127.0.0.1\"; local_port = 0; uid = 7; action = \"allow\"; } );\n",
		      NULL);
	ck_assert_ptr_nonnull(sv.cfg);
	ratelimit_init(&sv.refused, "refused requests", 100, 5);

	request(SOCKD_CONNECT, SOCKD_TCP, "127.0.0.1", port, buf);
	ck_assert_int_eq(serve(&sv, 7, buf, sizeof(buf)), SOCKD_OK);
	ck_assert_int_eq(serve(&sv, 0, buf, sizeof(buf)), SOCKD_OK);
	ck_assert_int_eq(serve(&sv, 8, buf, sizeof(buf)), SOCKD_EDENIED); /* rule 2 */
	request(SOCKD_CONNECT, SOCKD_UDP, "127.0.0.1", port, buf);
	ck_assert_int_eq(serve(&sv, 7, buf, sizeof(buf)), SOCKD_EDENIED); /* tcp only */
	request(SOCKD_CONNECT, SOCKD_TCP, "::1", port, buf);
	ck_assert_int_eq(serve(&sv, 7, buf, sizeof(buf)), SOCKD_EDENIED); /* default */
	request(SOCKD_BIND, SOCKD_UDP, "127.0.0.1", 0, buf);
	ck_assert_int_eq(serve(&sv, 7, buf, sizeof(buf)), SOCKD_OK);
	ck_assert_int_eq(serve(&sv, 0, buf, sizeof(buf)), SOCKD_EDENIED);
	ck_assert_int_eq(serve(&sv, 7, buf, 3), SOCKD_EBADREQ);
	ck_assert_int_eq(sv.count.connected, 2);
	ck_assert_int_eq(sv.count.bound, 1);
	ck_assert_int_eq(sv.count.denied, 4);
	ck_assert_int_eq(sv.count.malformed, 1);
	ck_assert_int_eq(open_fds(), fds); /* the connects were non-blocking and are closed */
	sockd_config_free((struct sockd_config *)sv.cfg);
	close(l);
}
END_TEST

/* The hand-made server's side of one exchange: the request, then reply (status, an
 * open descriptor with SOCKD_OK) or, with status < 0, a close without reply. */
static void answer(int l, int status, int *port)
{
	struct sockd_request req;
	struct sockd_reply rep = {.status = (uint8_t)(status < 0 ? 0 : status)};
	uint8_t buf[64], out[SOCKD_REP_LEN];
	const char *why;
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC), fd = -1;
	ssize_t n;

	ck_assert_int_ge(s, 0);
	n = recv(s, buf, sizeof(buf), 0);
	ck_assert_int_eq(sockd_request_parse(buf, (size_t)n, &req, &why), 0);
	ck_assert_int_eq(req.op, SOCKD_CONNECT);
	*port = req.port;
	sockd_reply_encode(&rep, out);
	if (status == SOCKD_OK) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(fdpass_send_data(s, fd, out, sizeof(out), 0), 0);
		close(fd);
	} else if (status >= 0) {
		ck_assert_int_eq(send(s, out, sizeof(out), 0), (ssize_t)sizeof(out));
	}
	close(s);
}

START_TEST(test_client_pair)
{
	char path[] = "/tmp/test_sockd_client.XXXXXX", sock[64];
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(5432),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int l, s, fd, port, fds = open_fds();
	static const struct {
		int status, fd_ok, err;
	} cases[] = {
		{SOCKD_OK, 1, 0}, {SOCKD_EDENIED, 0, EACCES}, {SOCKD_EBADREQ, 0, EINVAL},
		{-1, 0, ENETUNREACH},
	};

	ck_assert_ptr_nonnull(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/s", path);
	errno = 0;
	ck_assert_int_eq(sockd_request_start(sock, SOCKD_CONNECT, (struct sockaddr *)&dst,
					     sizeof(dst), SOCK_STREAM, 0), -1);
	ck_assert_int_eq(errno, ENETUNREACH); /* no server */
	l = unixsock_bind(sock, SOCK_SEQPACKET, 0600);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(listen(l, 4), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = sockd_request_start(sock, SOCKD_CONNECT, (struct sockaddr *)&dst, sizeof(dst),
					SOCK_STREAM, 0);
		ck_assert_int_ge(s, 0);
		ck_assert_int_eq(sockd_reply_take(s), -1);
		ck_assert_int_eq(errno, EAGAIN); /* asked, not answered yet */
		answer(l, cases[i].status, &port);
		ck_assert_int_eq(port, 5432);
		errno = 0;
		fd = sockd_reply_take(s);
		ck_assert_int_eq(fd >= 0, cases[i].fd_ok);
		if (fd >= 0)
			close(fd);
		else
			ck_assert_int_eq(errno, cases[i].err);
		close(s);
	}
	close(l);
	unlink(sock);
	rmdir(path);
	ck_assert_int_eq(open_fds(), fds);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sockd");
	TCase *tc = tcase_create("sockd");

	log_init("test_sockd", false, 0);
	tcase_add_test(tc, test_proto);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_serve);
	tcase_add_test(tc, test_client_pair);
	suite_add_tcase(s, tc);
	return s;
}
