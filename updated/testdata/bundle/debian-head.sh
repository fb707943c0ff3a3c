#!/bin/sh
# Moat anti-virus client installer (debian), written by moat-updated.
# It verifies the package's SHA-256, installs the package, writes
# /etc/moat-av/freshclam.conf (signatures from the gateway's mirror),
# copies the current databases into /var/lib/clamav, enables the daily
# update (a systemd timer, and a cron line for hosts without systemd) and
# runs a first update.
#
# usage: sh moat-install-debian.sh [--root DIR] [--no-install] [--no-update]
#   --root DIR    install into DIR (an image, a test) instead of /
#   --no-install  leave the package out (configuration only)
#   --no-update   no first signature update
set -eu
umask 022

MOAT_PLATFORM='debian'
MOAT_SUBSCRIBER='Acme'\''s "R&D" $(touch pwned) `id` ${HOME} \ ; # é'
MOAT_CLIENT='login:bob o'\''neil'
MOAT_PACKAGE='moat-av-demo 1.0'
MOAT_SHA256='5b1f0d5f7c3c1e8a9a3f0e2d4c6b8a0912345678901234567890abcdefabcdef'
MOAT_UPDATE_TIME='02:17'

die() { echo "moat-install: error: $*" >&2; exit 1; }
say() { echo "moat-install: $*"; }
usage="usage: sh moat-install-$MOAT_PLATFORM.sh [--root DIR] [--no-install] [--no-update]"

root=/
install_pkg=1
update=1
while [ $# -gt 0 ]; do
	case $1 in
	--root) [ $# -ge 2 ] || die "--root needs a directory; $usage"; root=$2; shift 2 ;;
	--root=*) root=${1#--root=}; shift ;;
	--no-install) install_pkg=0; shift ;;
	--no-update) update=0; shift ;;
	-h|--help) echo "$usage"; exit 0 ;;
	*) die "unknown argument '$1'; $usage" ;;
	esac
done
nl='
'
case $root in
	*"$nl"*) die "--root: a newline in the directory name" ;;
	/*) ;;
	*) root=$(pwd)/$root ;;
esac
[ -d "$root" ] || die "--root: $root is not a directory"
R=${root%/}
while [ "$R" != "${R%/}" ]; do R=${R%/}; done
if [ -z "$R" ] && [ "$(id -u)" != 0 ]; then
	die "run me as root (or with --root DIR to install into a directory)"
fi

say "installer for subscriber $MOAT_SUBSCRIBER, client $MOAT_CLIENT"
self=$0
[ -f "$self" ] || die "run me as a file: sh moat-install-$MOAT_PLATFORM.sh (not through a pipe)"
for tool in awk tail tar sha256sum mktemp; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing on this host"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/moat-install.XXXXXX") || die "cannot make a temporary directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# The payload: a tar archive after the marker line.
line=$(awk '/^__MOAT_PAYLOAD__$/ { print NR + 1; exit }' "$self")
[ -n "$line" ] || die "$self: no payload marker: the file is damaged (download it again)"
tail -n +"$line" "$self" | tar -xmf - -C "$work" ||
	die "$self: cannot unpack the payload: the file is damaged (download it again)"

# The package's SHA-256 before anything else.
case $MOAT_PLATFORM in
	debian) pkg=$work/package.deb ;;
	rpm) pkg=$work/package.rpm ;;
	*) die "unknown platform $MOAT_PLATFORM" ;;
esac
[ -f "$pkg" ] || die "the payload holds no package: the file is damaged"
got=$(sha256sum < "$pkg") || die "sha256sum failed"
got=${got%% *}
[ "$got" = "$MOAT_SHA256" ] ||
	die "package $MOAT_PACKAGE: SHA-256 mismatch (got $got, want $MOAT_SHA256); nothing was installed"
say "package $MOAT_PACKAGE verified (SHA-256 $MOAT_SHA256)"

# The package, with the platform's tool.  Into a directory: its own
# package database there, maintainer scripts run outside a chroot with
# DPKG_ROOT set (the tree has no shell to chroot into), dependencies must
# already be in the tree.
install_debian() {
	if [ -z "$R" ]; then
		if command -v apt-get >/dev/null 2>&1; then
			DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg"
		else
			dpkg -i "$pkg"
		fi
		return
	fi
	command -v dpkg >/dev/null 2>&1 || die "dpkg is missing on this host"
	mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/log" || return 1
	[ -f "$R/var/lib/dpkg/status" ] || : > "$R/var/lib/dpkg/status" || return 1
	notroot=
	[ "$(id -u)" = 0 ] || notroot=--force-not-root
	dpkg --root="$R" --log="$R/var/log/dpkg.log" --force-script-chrootless $notroot -i "$pkg"
}
install_rpm() {
	if [ -z "$R" ]; then
		if command -v dnf >/dev/null 2>&1; then
			dnf install -y "$pkg"
		elif command -v yum >/dev/null 2>&1; then
			yum install -y "$pkg"
		else
			rpm -U "$pkg"
		fi
		return
	fi
	command -v rpm >/dev/null 2>&1 || die "rpm is missing on this host"
	rpm --root "$R" --initdb || return 1
	rpm --root "$R" -U "$pkg"
}
if [ "$install_pkg" = 1 ]; then
	case $MOAT_PLATFORM in
	debian) install_debian ;;
	rpm) install_rpm ;;
	esac || die "package $MOAT_PACKAGE did not install"
	say "package $MOAT_PACKAGE installed${R:+ into $R}"
fi

# freshclam.conf, and the databases of the day.
etc=$R/etc/moat-av
db=$R/var/lib/clamav
mkdir -p "$etc" "$db" || die "cannot make $etc and $db"
cp "$work/freshclam.conf" "$etc/freshclam.conf.new" &&
	chmod 0600 "$etc/freshclam.conf.new" || die "cannot write $etc/freshclam.conf"
# freshclam drops to DatabaseOwner (clamav by default) when run as root.
owner=
[ -f "$R/etc/passwd" ] && owner=$(awk -F: '$1 == "clamav" { print $3 ":" $4; exit }' "$R/etc/passwd")
if [ -z "$owner" ]; then
	printf '# Added by the installer: no clamav user on this host.\nDatabaseOwner root\n' \
	    >> "$etc/freshclam.conf.new" || die "cannot write $etc/freshclam.conf"
fi
mv -f "$etc/freshclam.conf.new" "$etc/freshclam.conf" || die "cannot write $etc/freshclam.conf"
if [ -d "$work/db" ]; then
	cp "$work"/db/* "$db/" || die "cannot copy the signature databases into $db"
fi
if [ -n "$owner" ]; then
	chown -R "$owner" "$db" || die "cannot give $db to clamav"
fi
say "configuration in $etc/freshclam.conf, databases in $db"

# The daily update: a systemd timer, and a cron line that stands down where
# systemd runs.
units=$R/etc/systemd/system
mkdir -p "$units/timers.target.wants" "$R/etc/cron.d" || die "cannot make $units"
cp "$work/moat-av-update.service" "$work/moat-av-update.timer" "$units/" &&
	ln -sfn /etc/systemd/system/moat-av-update.timer "$units/timers.target.wants/moat-av-update.timer" ||
	die "cannot install the systemd timer in $units"
cp "$work/moat-av-update.cron" "$R/etc/cron.d/moat-av-update" &&
	chmod 0644 "$R/etc/cron.d/moat-av-update" || die "cannot write $R/etc/cron.d/moat-av-update"
if [ -z "$R" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload && systemctl enable --now moat-av-update.timer ||
		die "systemctl could not start moat-av-update.timer"
fi
say "signature update every day at $MOAT_UPDATE_TIME (moat-av-update.timer, cron for hosts without systemd)"

# The first update, from the gateway.  Into a directory, the installed
# file names the installed system's paths: this run uses the tree's.
if [ "$update" = 1 ]; then
	command -v freshclam >/dev/null 2>&1 ||
		die "freshclam is missing: install ClamAV's freshclam, then run freshclam --config-file=/etc/moat-av/freshclam.conf (or rerun with --no-update)"
	conf=$etc/freshclam.conf
	if [ -n "$R" ]; then
		grep -v -e '^DatabaseDirectory ' -e '^DatabaseOwner ' "$conf" > "$work/freshclam.conf.run" &&
		    printf 'DatabaseDirectory %s\nDatabaseOwner %s\n' "$db" "$(id -un)" >> "$work/freshclam.conf.run" ||
		    die "cannot write $work/freshclam.conf.run"
		conf=$work/freshclam.conf.run
	fi
	freshclam --config-file="$conf" || die "the first signature update failed (freshclam exit $?)"
	say "first signature update done"
fi
say "done"
exit 0
__MOAT_PAYLOAD__
