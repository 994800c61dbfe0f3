#!/bin/bash
# (e) Real OpenSSH through socketbox-inetd: the acceptor in the server namespace routes
# 2001:db8::22 port 22 to `socketbox-inetd sshd -i` in an applet namespace; the ssh client in
# the client namespace logs in with a key and runs a command. Its output proves that the
# command ran in the applet namespace (its network namespace, only lo there) and that sshd
# saw the connection as the client made it (SSH_CONNECTION: client fd00:5b::2, server
# 2001:db8::22 port 22).

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

tb_require_root
for c in /usr/sbin/sshd ssh ssh-keygen unshare mount; do
	command -v "$c" >/dev/null 2>&1 || tb_skip "'$c' is not installed (openssh-server, openssh-client)"
done
tb_require_exec "$SOCKETBOX" "$SB_INETD"
tb_setup

# ---------------------------------------------------------------- keys and sshd_config

ssh-keygen -q -t ed25519 -N '' -C socketbox-test-host -f "$TB_DIR/host_key" >/dev/null ||
	tb_fail "ssh-keygen (host key) failed"
ssh-keygen -q -t ed25519 -N '' -C socketbox-test-client -f "$TB_DIR/client_key" >/dev/null ||
	tb_fail "ssh-keygen (client key) failed"
cp "$TB_DIR/client_key.pub" "$TB_DIR/authorized_keys"
chmod 0600 "$TB_DIR/host_key" "$TB_DIR/client_key"

cat >"$TB_DIR/sshd_config" <<CONF
HostKey $TB_DIR/host_key
AuthorizedKeysFile $TB_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
AcceptEnv none
Subsystem sftp internal-sftp
CONF

cat >"$TB_DIR/sb.conf" <<CONF
listen = { address = "::"; port = $TB_PORT; transparent = true; };
targets = {
  ssh = { path = "$TB_DIR/ssh.sock"; };
};
rules = (
  { local = "2001:db8::22"; local_port = 22; target = "ssh"; }
);
CONF

# ---------------------------------------------------------------- the applet

# sshd -i needs its privilege separation directory /run/sshd (root-owned, not writable by
# others). Rather than create it on the host, the applet gets a private tmpfs on /run in its
# own mount namespace (`ip netns exec` already gives it one that does not propagate back;
# unshare -m makes that explicit) with /run/sshd inside.
cat >"$TB_DIR/run-applet.sh" <<'SH'
#!/bin/sh
set -e
mount --make-rprivate / 2>/dev/null || true
mount -t tmpfs -o mode=0755 socketbox-test-run /run
mkdir -m 0755 /run/sshd
exec "$@"
SH
chmod 0755 "$TB_DIR/run-applet.sh"

unshare -m "$TB_DIR/run-applet.sh" /usr/sbin/sshd -t -f "$TB_DIR/sshd_config" \
	2>"$TB_DIR/sshd-t.err" ||
	tb_fail "sshd -t rejects the test's sshd_config: $(cat "$TB_DIR/sshd-t.err")"

tb_bg "$TB_APP1" unshare -m "$TB_DIR/run-applet.sh" \
	"$SB_INETD" -v -s "$TB_DIR/ssh.sock" /usr/sbin/sshd -i -e -f "$TB_DIR/sshd_config"
APPLET_LOG=$TB_BG_LOG
tb_wait_socket "$TB_DIR/ssh.sock"
tb_bg "$TB_SERVER" "$SOCKETBOX" -v -f "$TB_DIR/sb.conf"
tb_wait_listen "$TB_SERVER" "$TB_PORT"

# ---------------------------------------------------------------- the client

app_netns=$(stat -L -c %i "/run/netns/$TB_APP1")
client_netns=$(stat -L -c %i "/run/netns/$TB_CLIENT")

# Everything the remote command prints is about where it runs; single quotes: it expands
# on the server side, in the shell sshd starts.
# shellcheck disable=SC2016
remote_cmd='echo "conn=$SSH_CONNECTION"; echo "netns=$(stat -L -c %i /proc/self/ns/net)"; '\
'echo "links=$(ip -o link show | awk -F": " "{print \$2}" | paste -sd, -)"; echo "user=$(id -un)"'

out=$(tb_in "$TB_CLIENT" timeout $((2 * TB_WAIT)) ssh -F /dev/null -i "$TB_DIR/client_key" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	-o ConnectTimeout="$TB_WAIT" -o LogLevel=ERROR -p 22 root@2001:db8::22 "$remote_cmd" \
	2>"$TB_DIR/ssh.err") || tb_fail "ssh root@2001:db8::22 failed: $(cat "$TB_DIR/ssh.err")"
tb_log "remote output: $(tr '\n' '|' <<<"$out")"

conn=$(sed -n 's/^conn=//p' <<<"$out")
read -r c_ip c_port s_ip s_port <<<"$conn"
tb_assert_eq "$TB_CLIENT_IP6" "$(tb_norm_addr "${c_ip:-?}")" "client address in SSH_CONNECTION"
tb_assert_eq "2001:db8::22 22" "$(tb_norm_addr "${s_ip:-?}") ${s_port:-}" \
	"server address and port in SSH_CONNECTION"
[[ ${c_port:-} =~ ^[0-9]+$ ]] || tb_fail "client port in SSH_CONNECTION is '${c_port:-}'"

got_ns=$(sed -n 's/^netns=//p' <<<"$out")
[[ $got_ns != "$client_netns" ]] || tb_fail "the remote command ran in the client's namespace"
tb_assert_eq "$app_netns" "$got_ns" "network namespace of the remote command (applet $TB_APP1)"
tb_assert_eq lo "$(sed -n 's/^links=//p' <<<"$out")" "network links seen by the remote command"
tb_assert_eq root "$(sed -n 's/^user=//p' <<<"$out")" "user of the remote command"

# A second login works too (inetd forks a fresh sshd per connection), and a connection to
# the same address on another port has no rule and is reset.
out=$(tb_in "$TB_CLIENT" timeout $((2 * TB_WAIT)) ssh -F /dev/null -i "$TB_DIR/client_key" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	-o ConnectTimeout="$TB_WAIT" -o LogLevel=ERROR -p 22 root@2001:db8::22 'echo second' \
	2>"$TB_DIR/ssh.err") || tb_fail "second ssh login failed: $(cat "$TB_DIR/ssh.err")"
tb_assert_eq second "$out" "second login's output"
tb_client_reset 2001:db8::22 2222 || tb_fail "2001:db8::22 port 2222 (no rule) was not reset"

grep -q 'Accepted publickey for root from fd00:5b::2' "$APPLET_LOG" ||
	tb_fail "sshd's log has no 'Accepted publickey for root from fd00:5b::2'"
tb_log "ok: sshd logged the public key login from $TB_CLIENT_IP6"

echo "PASS: OpenSSH sshd -i behind socketbox-inetd serves a login across namespaces"
