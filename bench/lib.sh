# Shared by the bench scripts (source it after setting $out, the run's output folder).

# Release builds of the ken CLI and, with "server", the server, under $out/bin.
build_release() { # [server]
  dotnet build src/Ken.Cli -c Release -o "$out/bin/ken" -v q -nologo >/dev/null
  if [ "${1:-}" = server ]; then
    dotnet build src/Ken.Server -c Release -o "$out/bin/server" -v q -nologo >/dev/null
  fi
}

# The CLI built by build_release.
ken() { dotnet "$out/bin/ken/ken.dll" "$@"; }

# Waits until the server answers `ken health`: returns 0 when it does, 1 when process PID has exited,
# 2 after TIMEOUT seconds.
wait_healthy() { # SERVER PID TIMEOUT
  local server=$1 pid=$2 timeout=$3 waited=0
  until ken health --server "$server" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$waited" -lt "$timeout" ] || return 2
    sleep 1; waited=$((waited + 1))
  done
}

# wait_healthy, or exit 1 saying which and where the log is.
require_healthy() { # SERVER PID TIMEOUT LOG
  local rc=0
  wait_healthy "$1" "$2" "$3" || rc=$?
  case $rc in
    0) ;;
    1) echo "the server at $1 did not start; see $4" >&2; exit 1 ;;
    *) echo "the server at $1 was not healthy within $3 s; see $4" >&2; exit 1 ;;
  esac
}
