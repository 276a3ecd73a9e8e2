# Sourced by .ci/run: a throwaway PostgreSQL database for the tests of sweeps that share one study
# through a database server. Exports NNSTUDIO_TEST_POSTGRES_URL when it works; when it does not, it
# says why and returns 1, and those tests skip. The server comes from the distribution's packages
# and runs under its cluster tools (pg_createcluster, pg_ctlcluster), as the postgres user: the
# server refuses to run as root.

_pg_say() { echo "ci/postgres: $*" >&2; }

_pg_install() {
    if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null; then
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        _pg_say "no PostgreSQL server and no apt-get to install one (the set-up uses Debian's cluster tools)"
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if ! sudo -n true 2>/dev/null; then
            _pg_say "no PostgreSQL server, and installing one needs root (or sudo without a password)"
            return 1
        fi
        sudo="sudo -n"
    fi
    _pg_say "installing PostgreSQL from the distribution's packages"
    # the package's own start-up may be refused in a container (no init system): the cluster
    # is started below either way
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

_pg_start() {
    local sudo="" version line
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
        $sudo pg_createcluster "$version" main >/dev/null || return 1
    fi
    line=$(pg_lsclusters -h | head -n 1)  # version cluster port status owner ...
    set -- $line
    if [ "$4" != online ]; then
        $sudo pg_ctlcluster "$1" "$2" start || return 1
    fi
    PG_PORT=$3
}

nnstudio_postgres() {
    local db=nnstudio_ci password sudo=""
    _pg_install || return 1
    _pg_start || { _pg_say "the PostgreSQL cluster did not start"; return 1; }
    [ "$(id -u)" = 0 ] || sudo="sudo -n"
    password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    # a fresh database and role on every run; the role may only use its own database
    if ! PGOPTIONS="--client-min-messages=warning" $sudo runuser -u postgres -- psql -q -p "$PG_PORT" -v ON_ERROR_STOP=1 >/dev/null <<SQL
DROP DATABASE IF EXISTS $db;
DROP ROLE IF EXISTS $db;
CREATE ROLE $db LOGIN PASSWORD '$password';
CREATE DATABASE $db OWNER $db;
SQL
    then
        _pg_say "could not create the throwaway database"
        return 1
    fi
    export NNSTUDIO_TEST_POSTGRES_URL="postgresql://$db:$password@127.0.0.1:$PG_PORT/$db"
    _pg_say "database $db on port $PG_PORT"
}
