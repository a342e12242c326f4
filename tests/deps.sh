#!/bin/sh
# Installs what the tests need (tests/deps.txt, or the list file given)
# when it is missing: with apt-get when we are root on a Debian-like
# system, otherwise it says exactly what to install and fails.
set -u
here=$(dirname "$0")
list=${1:-$here/deps.txt}
missing=""
while read -r kind name pkg; do
	case "$kind" in ""|\#*) continue ;; esac
	case "$kind" in
	header)  [ -e "/usr/include/$name" ] || \
		 [ -e "/usr/include/$(uname -m)-linux-gnu/$name" ] && continue ;;
	command) command -v "$name" >/dev/null 2>&1 && continue ;;
	# A file pattern, for what has no header or program of its own.
	file)	 for f in $name; do [ -e "$f" ] && break; done
		 [ -e "$f" ] && continue ;;
	# Debian's interpreter: the one its python3-* packages install for.
	pymodule) /usr/bin/python3 -c "import $name" >/dev/null 2>&1 &&
		  continue ;;
	*) echo "deps.sh: $list: unknown kind '$kind'" >&2; exit 1 ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done < "$list"

[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Packages such as openssh-server would start their service (a
	# system sshd on port 22) on install; the tests start their own
	# daemons, so for the install say no to every service start, as
	# Debian's policy-rc.d(8) interface allows, unless a policy exists.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get update -qq >/dev/null 2>&1 || true
	# shellcheck disable=SC2086
	if apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
		exit 0
	fi
	echo "deps.sh: apt-get install$missing failed" >&2
	exit 1
fi
echo "deps.sh: the tests need these Debian packages: apt-get install$missing" >&2
exit 1
