import path from 'node:path';
import type { SimPaths } from '../paths.js';

// The tool server's answer is a stream of frames: <type byte> <payload length, uint32 BE> <payload>.
// `accepted` comes first (a connection closed before it never ran the call and is retried), then
// output in the order the tool wrote it, then `exit` with the exit status, or `kill`: the call's
// process dies of SIGKILL once the output before it is out (faults.createCrash 'kill').
export const FRAME = { accepted: 'a', stdout: 'o', stderr: 'e', exit: 'x', kill: 'k' } as const;

function perlString(value: string): string {
  return `'${value.replace(/[\\']/g, (char) => `\\${char}`)}'`;
}

// What a shim does for one call, in Perl without modules (perl starts in about 2 ms; Socket.pm
// alone costs 7): send argv, environment, working directory and its own pid (the call's process
// for locks: caller.ts) to the host's tool server, starting the server first if none answers,
// then relay stdout and stderr and exit with the call's status. A signal that kills the client
// kills the call (the server sees the connection close). Constants are Linux's: AF_UNIX and
// SOCK_STREAM 1, LOCK_EX 2, WNOHANG 1, EINTR 4.
const CLIENT = String.raw`
$SIG{PIPE} = 'IGNORE';
my $cwd = readlink('/proc/self/cwd') // '/';
my $body = join("\0", $$, $cwd, $tool, scalar(@ARGV), @ARGV, map { "$_=$ENV{$_}" } keys %ENV);
my $request = pack('N', length $body) . $body;
my %closed;
# The socket is named relative to the sim directory: a long root must not exceed 108 bytes.
chdir($sim) or bail("cannot enter $sim: $!");
for (1 .. 5) {
  my $code = relay(connect_server());
  exit $code if defined $code;
}
bail("the tool server of $sim refused the call (see $log)");

sub bail {
  print STDERR "linus-sim: $_[0]\n";
  exit 70;
}

sub try_connect {
  socket(my $sock, 1, 1, 0) or bail("socket: $!");
  return connect($sock, pack('S a*', 1, "$socket\0")) ? $sock : undef;
}

sub connect_server {
  my $sock = try_connect();
  return $sock if $sock;
  open(my $lock, '>>', $lockfile) or bail("$lockfile: $!");
  flock($lock, 2) or bail("flock $lockfile: $!");
  $sock = try_connect();
  return $sock if $sock;
  my $pid = start_server();
  for (1 .. 1000) {
    select(undef, undef, undef, 0.01);
    $sock = try_connect();
    return $sock if $sock;
    bail("the tool server of $sim exited at start (see $log)") if waitpid($pid, 1) == $pid;
  }
  bail("the tool server of $sim did not start within 10 s (see $log)");
}

# In its own session (a signal to the caller's process group must not reach it), holding none of
# the caller's descriptors (a reader waiting for EOF on a pipe would wait forever).
sub start_server {
  require POSIX;
  my $pid = fork() // bail("fork: $!");
  return $pid if $pid;
  POSIX::setsid();
  opendir(my $dir, '/proc/self/fd');
  my @fds = grep { /^\d+$/ && $_ > 2 } readdir($dir);
  closedir($dir);
  POSIX::close($_) for @fds;
  open(STDIN, '<', '/dev/null');
  open(STDOUT, '>>', $serverlog);
  open(STDERR, '>&', \*STDOUT);
  %ENV = ();
  exec($node, $server, $root);
  POSIX::_exit(127);
}

sub put {
  my ($fh, $data) = @_;
  while (length $data) {
    my $n = syswrite($fh, $data);
    if (!defined $n) {
      next if $! == 4;
      return 0;
    }
    substr($data, 0, $n, '');
  }
  return 1;
}

# The call's exit status, or undef when the server closed before accepting the call.
sub relay {
  my ($sock) = @_;
  my ($buf, $accepted) = ('', 0);
  put($sock, $request) or return undef;
  for (;;) {
    my $n = sysread($sock, $buf, 65536, length $buf);
    if (!defined $n) {
      next if $! == 4;
      last;
    }
    last if $n == 0;
    while (length($buf) >= 5) {
      my ($type, $len) = unpack('a N', $buf);
      last if length($buf) < 5 + $len;
      my $data = substr($buf, 5, $len);
      substr($buf, 0, 5 + $len, '');
      if ($type eq 'a') {
        $accepted = 1;
      } elsif ($type eq 'x') {
        return $data;
      } elsif ($type eq 'k') {
        kill('KILL', $$);
      } else {
        # A reader that went away (qm list | head -1) only stops that stream, as for a real tool.
        my $fh = $type eq 'o' ? \*STDOUT : \*STDERR;
        $closed{$type} = 1 unless $closed{$type} || put($fh, $data);
      }
    }
  }
  return undef unless $accepted;
  bail("the tool server of $sim went away during the call (see $log)");
}
`;

// bin/<tool> of a simulated host: a Perl client of the host's tool server.
export function toolShim(tool: string, paths: SimPaths, server: string): string {
  const constants = {
    tool,
    root: paths.root,
    sim: paths.sim,
    socket: path.basename(paths.toolSocket),
    lockfile: path.basename(paths.toolServerLock),
    serverlog: path.basename(paths.toolServerLog),
    log: paths.toolServerLog,
    node: process.execPath,
    server,
  };
  const names = Object.keys(constants).map((name) => `$${name}`);
  return `#!/usr/bin/perl
# ${tool} on a simulated Proxmox VE host: a client of its tool server (src/sim/tools/client.ts).
my (${names.join(', ')}) = (${Object.values(constants).map(perlString).join(', ')});
${CLIENT}`;
}
