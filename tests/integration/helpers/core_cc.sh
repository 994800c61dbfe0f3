# shellcheck shell=bash
# helpers/core_cc.sh — compile a test helper written against the socketbox core library.
#
#     . "$SB_TOP/tests/integration/helpers/core_cc.sh"
#     core_cc OUT SOURCE.c...
#
# Builds OUT with cc -O2 -Wall -Wextra -Werror, the core's headers (src/core/) and build/libsbcore.a.
# When the core was built with SANITIZE=1 (ASan/UBSan objects in the archive) the helper is
# linked with the same sanitizers, or the link would fail. Returns cc's status; the compiler's
# messages go to stderr.
#
#     core_sanitized FILE
#
# True when FILE (a program or an archive) was built with ASan/UBSan (make SANITIZE=1): its
# memory figures (RSS, ASan's quarantine) and speed are then no measure of the program's own.

core_sanitized() {
	# grep reads all of nm's output (no -q): under pipefail an early exit would kill nm
	nm "$1" 2>/dev/null | grep '__asan_\|__ubsan_' >/dev/null
}

core_cc() {
	local out=$1 top lib
	shift
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
	lib=$top/build/libsbcore.a
	if [[ ! -r $lib ]]; then
		echo "core_cc: $lib is missing (run make first)" >&2
		return 1
	fi
	local san=()
	if core_sanitized "$lib"; then
		san=('-fsanitize=address,undefined' -fno-omit-frame-pointer)
	fi
	cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE "${san[@]}" -I"$top/src/core" \
		-o "$out" "$@" "$lib"
}
