#!/usr/bin/env bash
# Makes sure the servers that tests start are installed: redis-server (on PATH)
# and PostgreSQL (initdb under /usr/lib/postgresql/*/bin). As root on Debian it
# installs what is missing with apt-get; otherwise it says what to install and
# fails.
#
# Installing postgresql also starts Debian's own cluster on port 5432 (and
# redis-server may start as a service). Tests do not use or depend on them.
set -euo pipefail

shopt -s nullglob
have_redis() { command -v redis-server >/dev/null 2>&1; }
have_initdb() {
	initdbs=(/usr/lib/postgresql/*/bin/initdb)
	((${#initdbs[@]} > 0))
}

missing=()
if have_redis; then
	echo "test-deps: redis-server: $(command -v redis-server)"
else
	missing+=(redis-server)
fi
if have_initdb; then
	echo "test-deps: initdb: ${initdbs[*]}"
else
	missing+=(postgresql)
fi

if ((${#missing[@]} == 0)); then
	echo "test-deps: ok"
	exit 0
fi

if ((EUID != 0)); then
	echo "test-deps: missing Debian packages: ${missing[*]}" >&2
	echo "test-deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: missing packages ${missing[*]} and no apt-get to install them" >&2
	exit 1
fi

echo "test-deps: installing ${missing[*]} with apt-get"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"

if ! have_redis || ! have_initdb; then
	echo "test-deps: still missing redis-server or initdb after apt-get install" >&2
	exit 1
fi
echo "test-deps: ok"
