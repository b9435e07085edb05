#!/usr/bin/env bash
# Stop what tests/slurm/start.sh DIR started, by the pids it recorded: slurmd, slurmctld and (when start.sh
# started it) munged. Safe to call twice, or after a failed start.
set -uo pipefail

dir=${1:?usage: stop.sh DIR}
dir=$(cd "$dir" 2>/dev/null && pwd || echo "$dir")
for name in slurmd slurmctld munged; do
    pidfile=$dir/$name.pid
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidfile"
done
# slurmd (configless) links /run/slurm/conf to its config cache in DIR, for the clients inside jobs
link=$(readlink /run/slurm/conf 2>/dev/null || true)
case "$link" in "$dir"/*) rm -f /run/slurm/conf ;; esac
exit 0
