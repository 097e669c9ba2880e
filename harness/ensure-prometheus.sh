#!/usr/bin/env bash
# Makes sure prometheus and promtool are on this machine, idempotently; prints where they are.
#
# 1. $MODELDECK_PROMETHEUS (and promtool beside it or $MODELDECK_PROMTOOL), PATH, /usr/bin: use what is there.
# 2. Debian's package (the intended source in CI, root only):
#      apt-get update && apt-get install -y --no-install-recommends prometheus
#    It may try to start a system service; policy-rc.d usually forbids that in containers, and we stop it if it ran:
#    the tests start their own Prometheus.
# 3. Otherwise build both with Go from the Go module proxy into ${XDG_CACHE_HOME:-~/.cache}/modeldeck/bin.
#    Prometheus's module versions are v0.X.Y for Prometheus 3.X.Y (its v3 tags are not Go-module versions).
set -euo pipefail

PROMETHEUS_GO_VERSION="${MODELDECK_PROMETHEUS_GO_VERSION:-v0.316.0}"
cache_bin="${XDG_CACHE_HOME:-$HOME/.cache}/modeldeck/bin"

works() {
	# A usable pair: both run, and promtool can import OpenMetrics into blocks (the exact-number tests need it).
	local prometheus="$1" promtool="$2"
	[[ -x "$prometheus" && -x "$promtool" ]] || return 1
	"$prometheus" --version >/dev/null 2>&1 || return 1
	"$promtool" tsdb create-blocks-from openmetrics --help >/dev/null 2>&1 || return 1
}

found() {
	echo "prometheus: $1 ($("$1" --version 2>&1 | head -n1))"
	echo "promtool:   $2"
	exit 0
}

if [[ -n "${MODELDECK_PROMETHEUS:-}" ]]; then
	promtool="${MODELDECK_PROMTOOL:-$(dirname "$MODELDECK_PROMETHEUS")/promtool}"
	works "$MODELDECK_PROMETHEUS" "$promtool" && found "$MODELDECK_PROMETHEUS" "$promtool"
	echo "MODELDECK_PROMETHEUS=$MODELDECK_PROMETHEUS is not a usable prometheus with promtool beside it" >&2
	exit 1
fi

for directory in $(command -v prometheus >/dev/null 2>&1 && dirname "$(command -v prometheus)") /usr/bin "$cache_bin"; do
	works "$directory/prometheus" "$directory/promtool" && found "$directory/prometheus" "$directory/promtool"
done

if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
	echo "Installing Debian's prometheus package…" >&2
	start=$(date +%s)
	if DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; then
		# Debian's postinst may start its own server on :9090; ours are started by the tests.
		service prometheus stop >/dev/null 2>&1 || true
		echo "Installed in $(($(date +%s) - start)) s" >&2
		works /usr/bin/prometheus /usr/bin/promtool && found /usr/bin/prometheus /usr/bin/promtool
		echo "Debian's prometheus package is not usable here; building with Go instead" >&2
	else
		echo "apt-get could not install prometheus; building with Go instead" >&2
	fi
fi

if ! command -v go >/dev/null 2>&1; then
	echo "No prometheus, no apt-get as root, and no Go to build it: install Debian's 'prometheus' package, or set" >&2
	echo "MODELDECK_PROMETHEUS to a prometheus binary with promtool beside it." >&2
	exit 1
fi
echo "Building prometheus and promtool $PROMETHEUS_GO_VERSION with Go into $cache_bin (several minutes)…" >&2
mkdir -p "$cache_bin"
start=$(date +%s)
GOBIN="$cache_bin" GOFLAGS=-mod=mod go install \
	"github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_GO_VERSION" \
	"github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_GO_VERSION"
echo "Built in $(($(date +%s) - start)) s" >&2
works "$cache_bin/prometheus" "$cache_bin/promtool" && found "$cache_bin/prometheus" "$cache_bin/promtool"
echo "The Go build finished but $cache_bin/prometheus or promtool does not work" >&2
exit 1
