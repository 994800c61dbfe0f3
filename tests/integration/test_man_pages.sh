#!/bin/bash
# Every man page renders with man(1) and groff without a single warning, and each program's
# man page documents every option its --help lists, each is dated by the release of
# src/core/version.h and has a BUGS section.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v man >/dev/null || tb_skip "man is not installed"
command -v groff >/dev/null || tb_skip "groff is not installed"
tb_require_exec "$SOCKETBOX" "$SB_INETD" "$SB_RELAY" "$SB_PRELOAD" "$SB_SOCKD"
for page in "$SB_TOP"/man/*.[58]; do
	warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 \
		"$page" 2>&1 >/dev/null; groff -man -ww -z "$page" 2>&1)
	[[ -z $warnings ]] || tb_fail "${page##*/} renders with warnings: $warnings"
done

# Options as --help prints them ("-x", "--long"), each must appear in the page as \-x or \-\-long.
check_options() {
	local prog=$1 page=$2 opt
	for opt in $("$prog" --help 2>&1 | grep -oE '(^|[ [])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' [' | sort -u); do
		grep -qF -- "${opt//-/\\-}" "$page" || tb_fail "${page##*/} does not document $opt"
	done
}
check_options "$SOCKETBOX" "$SB_TOP/man/socketbox.8"
check_options "$SB_INETD" "$SB_TOP/man/socketbox-inetd.8"
check_options "$SB_RELAY" "$SB_TOP/man/socketbox-relay.8"
check_options "$SB_PRELOAD" "$SB_TOP/man/socketbox-preload.8"
check_options "$SB_SOCKD" "$SB_TOP/man/socketbox-sockd.8"

# Every page is dated by the release, as src/core/version.h says it: one place for both.
version=$(sed -n 's/^#define SOCKETBOX_VERSION "\(.*\)"$/\1/p' "$SB_TOP/src/core/version.h")
date=$(sed -n 's/^#define SOCKETBOX_DATE "\(.*\)"$/\1/p' "$SB_TOP/src/core/version.h")
[[ -n $version && -n $date ]] || tb_fail "no SOCKETBOX_VERSION or SOCKETBOX_DATE in version.h"
for page in "$SB_TOP"/man/*.[58]; do
	th=$(head -n 1 "$page")
	[[ $th == ".TH "*" $date \"socketbox $version\" "* ]] ||
		tb_fail "${page##*/} is not dated $date, socketbox $version: $th"
	grep -q '^\.SH BUGS$' "$page" || tb_fail "${page##*/} has no BUGS section"
done
tb_log "ok: man pages render clean and document every option"
