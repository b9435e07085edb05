#!/usr/bin/env bash
# Start a private single-node SLURM cluster (munge + slurmctld + slurmd on localhost) for the SLURM test.
#
#   tests/slurm/start.sh DIR      # needs root and Debian's slurmctld slurmd slurm-client munge
#   export SLURM_CONF=DIR/slurm.conf
#   ...                           # sbatch, squeue, snakemake --executor slurm
#   tests/slurm/stop.sh DIR
#
# Everything SLURM writes (config, state, spool, logs, pid files) stays in DIR. munged is the system one:
# reused when it answers, else started as user munge (its pid then goes to DIR/munged.pid, and stop.sh ends
# it). No accounting daemon (slurmdbd): `sacct` does not work, so clients query job states with `squeue`,
# which keeps finished jobs for MinJobAge seconds.
# Configless: slurmd fetches the config from slurmctld and links /run/slurm/conf to its copy, where SLURM
# clients look when SLURM_CONF is unset; inside a job the Snakemake jobstep executor drops SLURM_* from the
# environment of its `srun`, so without this the job step cannot find the cluster.
# Ports: SLURM_TEST_CTLD_PORT / SLURM_TEST_SLURMD_PORT (default 6817 / 6818).
set -euo pipefail

dir=${1:?usage: start.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
for tool in munged munge unmunge slurmctld slurmd sinfo squeue sbatch scontrol; do
    command -v "$tool" >/dev/null || { echo "start.sh: $tool not found (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "start.sh: needs root (slurmd starts jobs as their user)" >&2; exit 2; }

# --- munge: the authentication slurmctld, slurmd and the clients share ---------------------------------
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key; }
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    cp /run/munge/munged.pid "$dir/munged.pid"
fi
munge -n </dev/null | unmunge >/dev/null || { echo "start.sh: munged does not answer" >&2; exit 1; }

# --- slurm.conf: one node (this machine's CPUs and memory), one default partition ----------------------
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$dir/state" "$dir/spool"
cat > "$dir/slurm.conf" <<EOF
ClusterName=sslrp-test
SlurmctldHost=localhost
SlurmctldPort=${SLURM_TEST_CTLD_PORT:-6817}
SlurmdPort=${SLURM_TEST_SLURMD_PORT:-6818}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
ReturnToService=2
SlurmctldParameters=enable_configless
SchedulerParameters=sched_interval=1
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
echo "export SLURM_CONF=$dir/slurm.conf" > "$dir/env"
export SLURM_CONF=$dir/slurm.conf

# --- daemons (both fork into the background and write their pid files) --------------------------------
slurmctld
slurmd -N localhost --conf-server "localhost:${SLURM_TEST_CTLD_PORT:-6817}"
for _ in $(seq 100); do
    state=$(sinfo -h -n localhost -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.2
done
if [ "$state" != idle ]; then
    echo "start.sh: node not idle after 20 s (state '$state'); see $dir/slurmctld.log, $dir/slurmd.log" >&2
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    exit 1
fi
echo "SLURM up: SLURM_CONF=$dir/slurm.conf ($cpus CPUs, $mem_mb MB)"
