# make up / make down semantics on a stack of its own: a second "up" is
# harmless, secrets are private, no secret reaches a log, "down" leaves no
# process behind.  Only nginx's public port is TCP: the route control is
# on a Unix socket in a root-only dir (the public port does not know it),
# the FastCGI apps on sockets only nginx's workers (www-data) reach.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http run);

my $s = stack_up();
my $var = $s->var;

sub pids {
    my %pids;
    for my $f (glob "$var/run/*.pid") {
        open my $fh, '<', $f or next;
        my $pid = <$fh>;
        chomp $pid;
        (my $part = $f) =~ s{.*/(\w+)\.pid$}{$1};
        $pids{$part} = $pid;
    }
    return \%pids;
}

# every process whose command line or working directory is in $var
sub ours {
    my @found;
    for my $proc (glob '/proc/[0-9]*') {
        my $pid = (split m{/}, $proc)[-1];
        next if $pid == $$;
        open my $fh, '<', "$proc/cmdline" or next;
        local $/;
        my $cmd = <$fh> // '';
        $cmd =~ tr/\0/ /;
        my $cwd = readlink("$proc/cwd") // '';
        push @found, "$pid $cmd" if index($cmd, $var) >= 0
                                 || index($cwd, $var) == 0;
    }
    return @found;
}

my $before = pids();
ok(keys %$before >= 6, 'pid files for the parts') or diag explain $before;

my ($rc, $out) = $s->stack('up');
is($rc, 0, 'a second up succeeds') or diag $out;
is_deeply(pids(), $before, 'and restarts nothing');
is(http(GET => $s->url('/api/v1/health'))->{status}, 200, 'still healthy');

($rc, $out) = $s->stack('status');
is($rc, 0, 'status: all running');
like($out, qr/^$_\s+running/m, "status shows $_")
    for qw(postgres redis api auth hooks shipoffd nginx);

# secrets: 0600, three keys of 32 random bytes, in no log
my $mode = (stat "$var/secrets")[2] & 07777;
is(sprintf('%04o', $mode), '0600', 'secrets file is 0600');
open my $fh, '<', "$var/secrets" or die $!;
my %secret = map { /^(\w+) = ([0-9a-f]+)$/ ? ($1, $2) : () } <$fh>;
is_deeply([sort keys %secret], [qw(jwt_key master_key webhook_secret)],
          'three secrets');
like($_, qr/^[0-9a-f]{64}$/, 'a 256-bit hex secret') for values %secret;
isnt($secret{jwt_key}, $secret{master_key}, 'secrets differ');

for my $log (glob "$var/log/*.log") {
    open my $l, '<', $log or next;
    local $/;
    my $text = <$l> // '';
    my @leaks = grep { index($text, $_) >= 0 } values %secret;
    is(scalar @leaks, 0, "no secret in $log");
}

# the route table and the metrics are served on the control socket only
my $res = $s->control(GET => '/_shipoff/routes');
is($res->{status}, 200, '/_shipoff/routes answers on the control socket');
is(ref $res->{json}{routes}, 'ARRAY', '  with a route list');
$res = $s->control(GET => '/_shipoff/metrics');
is($res->{status}, 200, '/_shipoff/metrics answers on the control socket');
like($res->{content}, qr/^# TYPE shipoff_\w+ /m, '  in Prometheus text');
is($s->control(GET => '/api/v1/health')->{status}, 404,
   '  which serves nothing else');
for my $path ('/_shipoff/routes', '/_shipoff/metrics',
              '/_shipoff/routes/x.localhost')
{
    is(http(GET => $s->url($path))->{status}, 404,
       "the public port does not know $path");
}
$res = http(PUT => $s->url('/_shipoff/routes/x.localhost'),
            { project => 'x', kind => 'static', root => '/' });
ok($res->{status} >= 400, "  nor takes a route ($res->{status})");
is($s->control(GET => '/_shipoff/routes/x.localhost')->{status}, 404,
   '  which is not in the table');

# who may enter what
sub mode_of {
    my ($path) = @_;
    my @st = lstat $path or return "missing $path";
    return sprintf('%04o %s:%s', $st[2] & 07777, scalar getpwuid($st[4]),
                   scalar getgrgid($st[5]));
}
is(mode_of("$var/run/control"), '0700 root:root', 'run/control: root only');
ok(-S "$var/run/control/nginx.sock", '  holds the control socket');
is(mode_of("$var/run/fcgi"), '0750 root:www-data',
   'run/fcgi: root and www-data');
is(mode_of("$var/run/fcgi/$_.sock"), '0660 root:www-data',
   "  the $_ socket: 0660, group www-data") for qw(api auth hooks);

# nginx's workers are www-data, not nobody (the sandbox's uid)
{
    my $master = pids()->{nginx};
    my (undef, $users) = run('ps', '-o', 'user=', '--ppid', $master);
    my %users = map { $_ => 1 } split ' ', $users;
    is_deeply([sort keys %users], ['www-data'],
              'nginx workers run as www-data');
}

# every TCP port a process of the stack listens on: nginx's public one only
{
    my %ours;
    for my $line (ours()) {
        my ($pid) = split ' ', $line;
        for my $fd (glob "/proc/$pid/fd/*") {
            my $l = readlink($fd) // next;
            $ours{$1} = 1 if $l =~ /^socket:\[(\d+)\]$/;
        }
    }
    my %ports;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $t, '<', $f or next;
        while (<$t>) {
            my @c = split ' ';
            next unless ($c[3] // '') eq '0A' && $ours{ $c[9] // '' };
            $ports{ hex((split /:/, $c[1])[1]) } = 1;
        }
    }
    is_deeply([sort keys %ports], [$s->port('http')],
              'the stack listens on TCP on nginx\'s public port alone')
        or diag explain \%ports;
}

ok(scalar(ours()) > 0, 'processes of the stack are found while up');

($rc, $out) = $s->stack('down');
is($rc, 0, 'down succeeds') or diag $out;
my @left = ours();
is(scalar @left, 0, 'down leaves no process behind') or diag explain \@left;
for my $part (sort keys %$before) {
    ok(!kill(0, $before->{$part}), "$part (pid $before->{$part}) is gone");
}

($rc, $out) = $s->stack('status');
isnt($rc, 0, 'status after down reports stopped parts');
like($out, qr/^nginx\s+stopped/m, 'nginx stopped');

($rc, $out) = $s->stack('down');
is($rc, 0, 'a second down is harmless');

done_testing();
