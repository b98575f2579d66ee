# make up / make down semantics on a stack of its own: a second "up" is
# harmless, secrets are private, no secret reaches a log, "down" leaves no
# process behind.

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

# the route table is served by the module, and only the control location
my $res = http(GET => $s->url('/_shipoff/routes'));
is($res->{status}, 200, '/_shipoff/routes answers on loopback');
is(ref $res->{json}{routes}, 'ARRAY', 'with a route list');

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
