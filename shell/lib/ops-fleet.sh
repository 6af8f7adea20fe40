# shellcheck shell=bash
# vm fleet-state and adopt (docs/fleets.md): what a fleet plan compares, read in one exec, and the
# tagging of an existing VM into a fleet (`linus import`).

# The keys of a VM config a plan reads: sizes, CPU, NIC, cloud-init, notes, ownership, and every
# disk (the boot disk is the one the plan sizes).
readonly FLEET_CONFIG_KEYS_RE='^(name|cores|sockets|memory|cpu|boot|net0|ciuser|ipconfig0|description|tags|template|lock|(scsi|virtio|sata|ide)[0-9]+)$'


# `select <tag> <names,> <ids,>`: "<vmid> <node> <type> <status>" of every guest that carries <tag>,
# has one of the names or one of the IDs. `emit <dir>`: one LINUS_DATA line per such guest, its config (pending changes
# applied: what the VM will be after a reboot) from <dir>/<vmid>.json and, for a running VM, the
# keys whose current value differs from <dir>/<vmid>.current.json. Reads /cluster/resources on stdin.
_fleet_program() {
  printf '%s' "$PERL_JSON"
  cat <<'PERL'
my ($mode, $tag, $names, $ids, $dir) = @ARGV;
my %named = map { $_ => 1 } grep { $_ ne "" } split /,/, ($names // "");
my %ided = map { $_ => 1 } grep { $_ ne "" } split /,/, ($ids // "");
my $res = eval { decode_json(do { local $/; <STDIN> }) };
die "cluster/resources is not a JSON list\n" unless ref $res eq "ARRAY";
my $clean = sub { my $v = shift // ""; $v =~ s/[^\w.,;:+-]//g; $v };
my @hits;
for my $r (sort { ($a->{vmid} // 0) <=> ($b->{vmid} // 0) } grep { ref $_ eq "HASH" } @$res) {
  next unless ($r->{type} // "") =~ /^(qemu|lxc)$/ && ($r->{vmid} // "") =~ /^[1-9][0-9]{2,8}$/;
  my @tags = grep { $_ ne "" } split /[;, ]+/, lc($r->{tags} // "");
  next unless (grep { $_ eq $tag } @tags) || $named{$r->{name} // ""} || $ided{$r->{vmid}};
  push @hits, $r;
}
if ($mode eq "select") {
  print join(" ", $_->{vmid}, $clean->($_->{node}), $_->{type}, $clean->($_->{status}) || "unknown"), "\n" for @hits;
  exit 0;
}
my $J = json_new()->canonical;
my $keys = qr/$ENV{KEYS_RE}/;
my $read = sub {
  my $file = shift;
  open(my $f, "<", $file) or return undef;
  my $c = eval { decode_json(do { local $/; <$f> }) };
  return ref $c eq "HASH" ? { map { $_ => "$c->{$_}" } grep { $_ =~ $keys && defined $c->{$_} && !ref $c->{$_} } keys %$c } : undef;
};
for my $r (@hits) {
  my @tags = grep { $_ ne "" } split /[;, ]+/, ($r->{tags} // "");
  my %o = (id => 0 + $r->{vmid}, name => $r->{name} // "", node => $r->{node} // "", type => $r->{type},
    status => $r->{status} // "unknown", tags => \@tags, config => undef, pending => []);
  if ($r->{type} eq "qemu") {
    my $config = $read->("$dir/$r->{vmid}.json") or die "no config of VM $r->{vmid}\n";
    $o{config} = $config;
    # The config is current where /cluster/resources may lag behind a change.
    $o{name} = $config->{name} if defined $config->{name};
    $o{tags} = [grep { $_ ne "" } split /[;, ]+/, $config->{tags}] if defined $config->{tags};
    if (-e "$dir/$r->{vmid}.current.json") {
      my $current = $read->("$dir/$r->{vmid}.current.json") or die "no current config of VM $r->{vmid}\n";
      my %all = (%$config, %$current);
      $o{pending} = [sort grep { ($config->{$_} // "\0") ne ($current->{$_} // "\0") } keys %all];
    }
  }
  print "LINUS_DATA:", $J->encode(\%o), "\n";
}
PERL
}

# In the background: VM <vmid>'s config into <dir>/<vmid>.json (and, with "current", its current
# values into <vmid>.current.json); a failed read leaves <vmid>.err with the reason.
_fleet_read_config() { # <dir> <vmid> <node> <current 0|1>
  local WORK_DIR="$1/work-$2" file
  local -a extra=()
  mkdir -p -- "$WORK_DIR"
  for file in "$2.json" "$2.current.json"; do
    [[ "$file" == "$2.json" || "$4" == 1 ]] || continue
    [[ "$file" == "$2.json" ]] || extra=(--current 1)
    if ! pve pvesh get "/nodes/$3/qemu/$2/config" --output-format json "${extra[@]}"; then
      pve_message >"$1/$2.err"
      return 0
    fi
    printf '%s\n' "$PVE_OUT" >"$1/$file"
  done
  return 0
}

# Usage: fleet-state --tag linus-fleet-<name> [--names a,b,...] [--ids 101,102,...] [--remote-dir DIR]
# Description: the guests that carry the fleet's tag, have a name of the fleet file or an ID asked
# for (linus import), each with
# the config a plan compares and the keys waiting for a reboot. One /cluster/resources read, then
# the configs in parallel (pvesh reaches every node of the cluster).
cmd_fleet_state() {
  local dir="$WORK_DIR/fleet" name line id node type status failed=""
  local -a rows=() names=() ids=() queries=()
  ops_parse "tag: names: ids: remote-dir:" "$@"
  ((${#OP_ARGS[@]} == 0)) || die INVALID_SPEC "fleet-state takes no arguments"
  [[ "${OPT[tag]:-}" == linus-fleet-* && "${OPT[tag]#linus-fleet-}" =~ $FLEET_NAME_RE ]] ||
    die INVALID_SPEC "--tag must be linus-fleet-<name>: the fleet name $FLEET_NAME_RULE"
  IFS=',' read -ra names <<<"${OPT[names]:-}"
  for name in "${names[@]}"; do
    [[ "$name" =~ $VM_NAME_RE ]] || die INVALID_SPEC "--names: every name $VM_NAME_RULE"
  done
  IFS=',' read -ra ids <<<"${OPT[ids]:-}"
  for id in "${ids[@]}"; do
    [[ "$id" =~ $VMID_RE ]] || die INVALID_SPEC "--ids: every ID $VMID_RULE"
  done
  ops_read_resources
  resources_fill_new RESOURCES_JSON
  mkdir -p -- "$dir"
  mapfile -t rows < <(perl -e "$(_fleet_program)" select "${OPT[tag]}" "${OPT[names]:-}" "${OPT[ids]:-}" <<<"$RESOURCES_JSON") ||
    die INTERNAL "cannot parse /cluster/resources"
  for line in "${rows[@]}"; do
    read -r id node type status <<<"$line"
    [[ "$type" == qemu ]] || continue
    if [[ "$status" == running ]]; then queries+=("_fleet_config_running $id $node"); else queries+=("_fleet_config_stopped $id $node"); fi
  done
  _in_background "${queries[@]}"
  for line in "${rows[@]}"; do
    read -r id node type status <<<"$line"
    [[ -f "$dir/$id.err" ]] && failed+=" VM $id on node $node ($(<"$dir/$id.err"))"
  done
  [[ -z "$failed" ]] || die VM_OP_FAILED "cannot read the config of${failed}"
  emit RESULT SUCCESS
  KEYS_RE=$FLEET_CONFIG_KEYS_RE perl -e "$(_fleet_program)" emit "${OPT[tag]}" "${OPT[names]:-}" "${OPT[ids]:-}" "$dir" <<<"$RESOURCES_JSON" ||
    die INTERNAL "cannot read the fleet's configs"
  end_line
  mark_final
}

# In the background (ops-capacity.sh _in_background): a fleet VM's config for fleet-state, with
# its current values when it runs.
_fleet_config_running() { _fleet_read_config "$WORK_DIR/fleet" "$1" "$2" 1; }
_fleet_config_stopped() { _fleet_read_config "$WORK_DIR/fleet" "$1" "$2" 0; }

# The runs of VM_CONFIG's linus-<run-id> tags whose job did not succeed (gc would remove the VM as
# their leftover), one per line; a running job is VM_LOCKED: the VM is still being made.
_adopt_failed_runs() {
  local tag run status
  while IFS= read -r tag; do
    run=${tag,,}
    run=${run#linus-}
    [[ "${tag,,}" == linus-* && "$run" != fleet-* && "$run" =~ $RUN_ID_RE ]] || continue
    status=$(_gc_job_status "$(job_dir_of "${OPT[remote_dir]}" "$run")")
    case "$status" in
      success | missing) ;;
      running) die VM_LOCKED "VM ${VMR[name]:-} is still being made by run $run: adopt it once the run has ended" ;;
      *) echo "$tag" ;;
    esac
  done < <(ops_tags)
}

# Tags, one per line on stdin, as one sorted `;`-joined set in lowercase: qm set may reorder them
# and lowercase them (get_unique_tags, with the datacenter's tag-style).
_tag_set() {
  tr '[:upper:]' '[:lower:]' | sort -u | paste -sd';'
}

# Usage: adopt <vmid> --fleet NAME [--remote-dir DIR]
# Description: bring an existing VM (linus-made or not) into a fleet: it gets the tags `linus` and
# linus-fleet-<name>, keeps its other tags, and loses the tag of a run that did not succeed, so
# that gc never takes it for that run's leftover. Refuses a template, a locked VM and a VM of
# another fleet. The one exception to "linus never touches a VM it did not create": asked for by name.
cmd_adopt() {
  local vmid tag tags fleet_tag have want json changed=0
  local -a keep=() dropped=()
  ops_parse "fleet: remote-dir:" "$@"
  ops_vmid vmid
  need_match OPT fleet "$FLEET_NAME_RE" "$FLEET_NAME_RULE"
  fleet_tag="linus-fleet-${OPT[fleet]}"
  ops_find_vm "$vmid"
  ops_load_config "$vmid"
  ops_refuse_template "$vmid" "a fleet holds VMs, not templates"
  ops_refuse_locked "$vmid"
  mapfile -t dropped < <(_adopt_failed_runs)
  while IFS= read -r tag; do
    [[ "${tag,,}" == linus-fleet-* && "${tag,,}" != "$fleet_tag" ]] &&
      die VM_NOT_OWNED "VM $vmid '${VMR[name]}' is in fleet '${tag#linus-fleet-}': a VM belongs to one fleet"
    [[ " ${dropped[*]} " == *" $tag "* || "${tag,,}" == linus || "${tag,,}" == "$fleet_tag" ]] && continue
    keep+=("$tag")
  done < <(ops_tags)
  tags=$(printf '%s\n' linus "$fleet_tag" "${keep[@]}" | sort -u | paste -sd';')
  want=$(_tag_set <<<"${tags//;/$'\n'}")
  have=$(ops_tags | _tag_set)
  if [[ "$have" != "$want" ]]; then
    pve qm set "$vmid" --tags "$tags" || ops_fail VM_OP_FAILED "qm set $vmid failed"
    changed=1
    ops_load_config "$vmid"
    have=$(ops_tags | _tag_set)
    [[ "$have" == "$want" ]] || die VM_OP_FAILED "VM $vmid has tags '$have' after qm set, expected '$want'"
  fi
  ((${#dropped[@]} == 0)) || log "VM $vmid: dropped the tag of run(s) that did not succeed: ${dropped[*]}"
  json=$(_json_list "${dropped[@]}")
  emit_data "s:op=adopt" "n:id=$vmid" "s:node=${VMR[node]}" "s:name=${VMR[name]}" "s:fleet=${OPT[fleet]}" "b:changed=$changed" \
    "j:tags=$(_json_list linus "$fleet_tag" "${keep[@]}")" "j:droppedRuns=$json" | ops_success
}
