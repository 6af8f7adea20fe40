# shellcheck shell=bash
# VM operations (`linus vm ...`, shell/ops/vm.sh): options, the one /cluster/resources read that
# finds a VM, the checks every operation shares (exists, on this node, lock, template,
# protection) and the LINUS_DATA/LINUS_WARNING lines. See docs/vm.md.

# Options of the current operation (dashes become underscores) and its positional arguments.
declare -gA OPT=()
OP_ARGS=()
# What /cluster/resources says about the VM of the operation (see _ops_vm_program).
declare -gA VMR=()
# The last /cluster/resources answer (JSON), for later checks on the same read.
RESOURCES_JSON=""
# When that read started (epoch).
RESOURCES_READ_AT=0

# Parses <arg...> by a spec such as "timeout: force" (see parse_options) into OPT and OP_ARGS.
ops_parse() { # <spec> <arg...>
  OPT=()
  parse_options OPT "$@"
  OP_ARGS=("${PARSED_ARGS[@]}")
  OPT[remote_dir]=${OPT[remote_dir]:-/var/lib/linus}
  need_remote_dir "${OPT[remote_dir]}"
}

# The VM ID argument (exactly one positional argument unless told otherwise).
ops_vmid() { # <var> [<count of positionals allowed>]
  local what
  ((${#OP_ARGS[@]} == ${2:-1})) || die INVALID_SPEC "expected a VM ID (100-999999999)"
  shown what "${OP_ARGS[0]}"
  [[ "${OP_ARGS[0]}" =~ $VMID_RE ]] || die INVALID_SPEC "VM ID must be a number from 100 to 999999999, got $what"
  printf -v "$1" '%s' "${OP_ARGS[0]}"
}

ops_int() { # <key> <min> <max> <default>
  local what
  OPT[$1]=${OPT[$1]:-$4}
  shown what "${OPT[$1]}"
  _int_in "${OPT[$1]}" "$2" "$3" || die INVALID_SPEC "--${1//_/-} must be an integer from $2 to $3, got $what"
}

# Reads /cluster/resources once (every type: nodes and storages serve the capacity checks).
ops_read_resources() {
  # shellcheck disable=SC2034 # read by clone_run (ops-clone.sh)
  RESOURCES_READ_AT=$(date +%s)
  pve pvesh get /cluster/resources --output-format json || pve_fail NODE_NOT_FOUND "cannot read /cluster/resources"
  RESOURCES_JSON=$PVE_OUT
}

_ops_vm_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
my ($vmid) = @ARGV;
my $res = eval { decode_json(do { local $/; <STDIN> }) };
die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
my $clean = sub { my $v = shift // ""; $v =~ s/[^\w.,;:+-]//g; $v };
my ($vm) = grep { ref $_ eq "HASH" && ($_->{type} // "") =~ /^(qemu|lxc)$/ && ($_->{vmid} // "") eq $vmid } @$res;
if (!$vm) { print "exists=0\n"; exit 0 }
print "exists=1\n";
print "type=", $clean->($vm->{type}), "\n";
print "node=", $clean->($vm->{node}), "\n";
print "status=", $clean->($vm->{status}), "\n";
print "lock=", $clean->($vm->{lock}), "\n";
print "template=", ($vm->{template} ? 1 : 0), "\n";
print "tags=", $clean->($vm->{tags}), "\n";
my $name = $vm->{name} // ""; $name =~ s/[^A-Za-z0-9.-]//g;
print "name=$name\n";
PERL
}

# Finds VM <vmid> in the cluster: VM_NOT_FOUND if it is not there, VM_ON_OTHER_NODE (with
# LINUS_ERROR_NODE:<node>) if it lives on another node (qm only acts on this node's VMs). Fills VMR.
ops_find_vm() { # <vmid>
  local out key value local_node
  ops_read_resources
  out=$(perl -e "$(_ops_vm_program)" "$1" <<<"$RESOURCES_JSON") || die INTERNAL "cannot parse /cluster/resources"
  VMR=()
  while IFS='=' read -r key value; do
    VMR[$key]=$value
  done <<<"$out"
  ((VMR[exists])) || die VM_NOT_FOUND "VM $1 does not exist in the cluster"
  [[ "${VMR[type]}" == qemu ]] || die VM_NOT_FOUND "$1 is a container (CT), not a VM"
  local_node=$(local_node_name)
  if [[ "${VMR[node]}" != "$local_node" ]]; then
    die_other_node "${VMR[node]}" "VM $1 is on node '${VMR[node]}', this is node '$local_node'"
  fi
}

# Reads the VM's config (this node) into VM_CONFIG; a VM that vanished since is VM_NOT_FOUND. Its
# name there is current (/cluster/resources shows a new or renamed VM's name up to ~10 s late).
ops_load_config() { # <vmid>
  local name
  if ! pve qm config "$1"; then
    [[ "$PVE_ERR" == *"does not exist"* ]] && die VM_NOT_FOUND "VM $1 does not exist (any more)"
    ops_fail VM_OP_FAILED "cannot read the config of VM $1"
  fi
  # shellcheck disable=SC2034 # read by config_get (lib/create.sh)
  VM_CONFIG=$PVE_OUT
  if name=$(config_get name); then
    VMR[name]=${name//[^A-Za-z0-9.-]/}
  fi
}

# Maps a failed qm call to a stable code: a missing VM, a held lock, else <CODE>.
ops_fail() { # <CODE> <context>
  local msg
  msg=$(pve_message)
  [[ "$PVE_ERR" == *"does not exist"* || "$PVE_ERR" == *"unable to find configuration file"* ]] && die VM_NOT_FOUND "$2: $msg"
  if [[ "$PVE_ERR" == *"can't lock file"*"got timeout"* || "$PVE_ERR" == *"VM is locked"* ]]; then
    die VM_LOCKED "$2: $msg"
  fi
  die "$1" "$2: $msg"
}

ops_is_true() { # <value>
  [[ "${1,,}" =~ ^(1|on|yes|true)$ ]]
}

# Guard clauses on VM_CONFIG.
ops_refuse_locked() { # <vmid>
  local lock
  lock=$(config_get lock) || return 0
  die VM_LOCKED "VM $1 is locked ($lock)"
}

ops_is_template() {
  local value
  value=$(config_get template) && ops_is_true "$value"
}

ops_refuse_template() { # <vmid> <what>
  ! ops_is_template || die VM_IS_TEMPLATE "VM $1 is a template: $2"
}

# The live power state from `qm status` into STATE (not /cluster/resources, which lags on a
# real host). Never call it in $( ): die must run in the main shell.
STATE=""
ops_state() { # <vmid>
  pve qm status "$1" || ops_fail VM_OP_FAILED "qm status $1 failed"
  [[ "$PVE_OUT" =~ ^status:\ ([a-z-]+) ]] || die INTERNAL "unexpected qm status answer for VM $1"
  STATE=${BASH_REMATCH[1]}
}

# Polls `qm status` until <state> or <seconds> pass; STATE_TIMEOUT after that.
ops_wait_state() { # <vmid> <state> <seconds>
  local until=$((SECONDS + $3))
  while :; do
    ops_state "$1"
    [[ "$STATE" == "$2" ]] && return 0
    ((SECONDS < until)) || die STATE_TIMEOUT "VM $1 is $STATE, not $2, after $3 s"
    nap 1
  done
}

# One LINUS_DATA line holding a JSON object built from typed fields:
# s:key=string, n:key=number, b:key=0|1, j:key=<JSON>, z:key= (null).
emit_data() { # <field...>
  perl -e "$PERL_JSON"'
    my %o;
    for (@ARGV) {
      my ($t, $k, $v) = /\A([snbjz]):([A-Za-z0-9_]+)=(.*)\z/s or die "bad field $_\n";
      $o{$k} = $t eq "s" ? "$v" : $t eq "n" ? 0 + $v : $t eq "b" ? ($v ? json_true() : json_false())
        : $t eq "z" ? undef : json_new()->allow_nonref->decode($v);
    }
    print "LINUS_DATA:", json_new()->canonical->encode(\%o), "\n";' "$@" || die INTERNAL "cannot encode a result"
}

# The success block of an operation: LINUS_DATA lines (stdin) inside RESULT..END.
ops_success() {
  emit RESULT SUCCESS
  cat
  end_line
  mark_final
}

# VM_CONFIG's tags as one tag per line.
ops_tags() {
  local tags
  tags=$(config_get tags) || return 0
  local -a list=()
  read -ra list <<<"${tags//[;,]/ }"
  ((${#list[@]} == 0)) || printf '%s\n' "${list[@]}"
}

# Whether linus created the VM: it carries the tag `linus`, in any case (Proxmox keeps tags as
# passed on `qm create` and with case-sensitive tags). No `| grep -q`: under pipefail the writer's
# SIGPIPE after grep's early exit would make a match look like a miss.
ops_is_linus() {
  local tags
  tags=$(ops_tags)
  [[ $'\n'"${tags,,}"$'\n' == *$'\n'linus$'\n'* ]]
}

# linus never touches a VM it did not create (docs/vm.md): changing operations refuse a VM without
# the `linus` tag unless the operator passed --foreign. Needs VM_CONFIG and VMR.
ops_refuse_foreign() { # <vmid> <what, e.g. "stop">
  [[ "${OPT[foreign]:-0}" == 1 ]] && return 0
  ops_is_linus && return 0
  die VM_NOT_OWNED "VM $1 '${VMR[name]:-}' was not created by linus (no 'linus' tag): refusing to $2 it; pass --foreign to $2 it anyway"
}
