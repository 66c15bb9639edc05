#!/usr/bin/env bash
# Checks what packaging/ ships (CI runs it; so can you):
#   1. both systemd units pass `systemd-analyze verify` with no output, with the built binary
#      standing in for /usr/bin/quota and the generated man page on MANPATH;
#   2. the service scores ≤ 2.0 in `systemd-analyze security --offline=true`;
#   3. `cargo deb` builds a package holding every part (listed with dpkg-deb -c);
#   4. as root (QUOTA_CHECK_INSTALL=0 to skip): the package installs, its quota user can run
#      quota on the packaged config, apt full-upgrade keeps it, and it purges cleanly;
#   5. the Prometheus alerting rules pass `promtool test rules`, and the Grafana dashboard
#      is JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    command -v "$1" >/dev/null && return
    [ -n "${apt_updated:-}" ] || { apt-get update -qq; apt_updated=1; }
    apt-get install -y -qq "$2" >/dev/null
}
need systemd-analyze systemd
need man man-db
need dpkg-deb dpkg
need setpriv util-linux
need promtool prometheus
command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb

echo "== Prometheus rules (promtool) and the Grafana dashboard"
promtool check rules packaging/prometheus/quota.rules.yml
(cd packaging/prometheus && promtool test rules quota.rules.test.yml)
python3 -m json.tool packaging/prometheus/quota.dashboard.json >/dev/null

echo "== cargo deb"
deb=$(cargo deb --locked 2>/dev/null | tail -n 1)
[ -f "$deb" ] || { echo "cargo deb produced no package"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== systemd-analyze verify"
cp packaging/quota-sync.service packaging/quota-sync.timer "$tmp/"
sed -i "s|^ExecStart=/usr/bin/quota |ExecStart=$PWD/target/release/quota |" "$tmp/quota-sync.service"
out=$(MANPATH="$PWD/packaging/man" systemd-analyze verify --recursive-errors=yes \
    "$tmp/quota-sync.service" "$tmp/quota-sync.timer" 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "verify printed:"; echo "$out"; exit 1; }

echo "== systemd-analyze security"
systemd-analyze security --offline=true --threshold=20 packaging/quota-sync.service | tail -n 1

echo "== package contents ($deb)"
dpkg-deb -c "$deb" | awk '{print $NF}' > "$tmp/contents"
for f in ./usr/bin/quota ./lib/systemd/system/quota-sync.service ./lib/systemd/system/quota-sync.timer \
    ./etc/quota/config.toml ./usr/share/man/man1/quota.1.gz ./usr/share/man/man5/quota.toml.5.gz ./usr/share/bash-completion/completions/quota \
    ./usr/share/zsh/vendor-completions/_quota ./usr/share/fish/vendor_completions.d/quota.fish \
    ./usr/share/doc/quota/README.md; do
    grep -qx -- "$f" "$tmp/contents" || { echo "missing from the package: $f"; exit 1; }
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/quota/config.toml \
    || { echo "/etc/quota/config.toml is not a conffile"; exit 1; }
echo "all parts present"
[ "$(dpkg-deb -f "$deb" Package)" = claude-quota ] || { echo "the package is not named claude-quota"; exit 1; }
dpkg-deb -f "$deb" Conflicts | grep -qw quota || { echo "no Conflicts: quota"; exit 1; }

if [ "$(id -u)" = 0 ] && [ "${QUOTA_CHECK_INSTALL:-1}" = 1 ]; then
    echo "== install, use as the quota user, purge"
    dpkg -i "$deb" >/dev/null
    # Whatever fails below, the machine is left without the package.
    trap 'dpkg --purge claude-quota >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
    install -d -o quota -g quota -m 0700 /var/lib/quota
    as_quota() { setpriv --reuid=quota --regid=quota --clear-groups env -i HOME=/var/lib/quota PATH=/usr/bin:/bin "$@"; }
    as_quota quota config check | head -n 2
    # The read commands never create a database: before any run they say so and exit 1.
    if as_quota quota status 2>/dev/null; then echo "status answered without a database"; exit 1; fi
    as_quota quota check
    as_quota quota status
    as_quota quota alerts list
    [ "$(stat -c %a /var/lib/quota/quota.db)" = 600 ] || { echo "database is not owner-only"; exit 1; }
    # Debian's `quota` (the disk-quota tools) is no upgrade of ours: a full upgrade keeps
    # claude-quota, and installing Debian's is refused while ours is there.
    [ -n "${apt_updated:-}" ] || { apt-get update -qq; apt_updated=1; }
    plan=$(apt-get -s full-upgrade 2>&1)
    if echo "$plan" | grep -qE '^(Remv claude-quota|Inst quota )'; then
        echo "apt full-upgrade would replace claude-quota:"; echo "$plan"; exit 1
    fi
    if apt-cache show quota >/dev/null 2>&1 && apt-get -s install quota 2>&1 | grep -q '^Inst quota '; then
        apt-get -s install quota 2>&1 | grep -q '^Remv claude-quota' \
            || { echo "installing Debian's quota would not remove ours first"; exit 1; }
    fi
    echo "apt full-upgrade keeps claude-quota; Debian's quota conflicts with it"
    dpkg --purge claude-quota >/dev/null
    [ ! -e /usr/bin/quota ] && [ ! -e /var/lib/quota ] || { echo "purge left files behind"; exit 1; }
fi
echo "packaging OK"
