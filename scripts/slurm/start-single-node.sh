#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine, as root and without
# systemd: installs slurm-wlm and munge when missing, writes a munge key and
# /etc/slurm/slurm.conf (one node with all CPUs and about 90 % of the memory,
# one default partition "main"), starts munged, slurmctld and slurmd when
# they are not running, waits until the node is idle and prints sinfo.
# Running it again changes nothing that already works. For manual checks
# such as scripts/slurm/emit-check.sh; CI does not run it.
#
#   sudo scripts/slurm/start-single-node.sh
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "$0: run as root" >&2
  exit 1
fi

if ! command -v slurmctld > /dev/null || ! command -v slurmd > /dev/null || ! command -v munged > /dev/null; then
  echo "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends slurm-wlm munge
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)

mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge \
  /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ ! -s /etc/munge/munge.key ]; then
  echo "writing /etc/munge/munge.key"
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key

conf=/etc/slurm/slurm.conf
want=$(cat <<EOF
# Single node, written by scripts/slurm/start-single-node.sh.
ClusterName=single
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)
changed=0
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  echo "writing $conf"
  printf '%s\n' "$want" > "$conf"
  changed=1
fi

running() { pgrep -x "$1" > /dev/null; }

if ! running munged; then
  echo "starting munged"
  runuser -u munge -- /usr/sbin/munged
fi
for i in $(seq 50); do
  if munge -n < /dev/null | unmunge > /dev/null 2>&1; then break; fi
  [ "$i" -eq 50 ] && { echo "$0: munge does not work" >&2; exit 1; }
  sleep 0.2
done

if ! running slurmctld; then
  echo "starting slurmctld"
  /usr/sbin/slurmctld
elif [ "$changed" -eq 1 ]; then
  echo "reconfiguring slurmctld"
  scontrol reconfigure
fi
if ! running slurmd; then
  echo "starting slurmd"
  /usr/sbin/slurmd
fi

# Wait for the node to register and become idle (or busy with jobs).
for i in $(seq 60); do
  state=$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null | head -n 1 || true)
  case $state in
    idle | mixed | allocated) break ;;
    down* | drain*)
      scontrol update NodeName="$host" State=RESUME 2> /dev/null || true ;;
  esac
  if [ "$i" -eq 60 ]; then
    echo "$0: node $host is '$state' after 60 s; see /var/log/slurm/" >&2
    exit 1
  fi
  sleep 1
done
sinfo
