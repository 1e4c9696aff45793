# shellcheck shell=bash
# Sourced by the bench and soak scripts: starts a real docker-registry on a free loopback port
# with its storage under a work directory, as tests/support/registry.rs does for the tests.
#
#   start_registry WORK   sets PORT, HOST (127.0.0.1:PORT) and REG_PID; the registry's log is
#                         WORK/registry.log. Calls `die` (the caller's) if it does not come up.
# The caller stops it (kill "$REG_PID") in its EXIT trap.

start_registry() {
  local work="$1"
  # A port nothing listens on right now.
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  HOST="127.0.0.1:$PORT"
  cat >"$work/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/registry-data}
  delete: {enabled: true}
http:
  addr: $HOST
  secret: opp-bench-secret
YML
  # Any REGISTRY_* variable would override the file; start the registry without them.
  local unset_vars=() v
  while IFS= read -r v; do unset_vars+=(-u "$v"); done < <(compgen -e | grep '^REGISTRY_' || true)
  env "${unset_vars[@]}" docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 </dev/null &
  REG_PID=$!
  local _
  for _ in $(seq 1 150); do
    kill -0 "$REG_PID" 2>/dev/null || { cat "$work/registry.log" >&2; die "docker-registry exited during start"; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$work/registry.log" >&2
  die "docker-registry did not listen on $HOST within 15 s"
}
