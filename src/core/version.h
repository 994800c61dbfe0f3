/* version.h - the release: its version and date, in one place. Every man page's .TH line
 * carries both (tests/integration/test_man_pages.sh checks that they agree). */
#define SOCKETBOX_VERSION "0.1.0"
#define SOCKETBOX_DATE "2026-12-02"
