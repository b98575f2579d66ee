#!/usr/bin/perl
# bench/wake.pl: what scale to zero costs a request, set against what the
# app itself needs to start, both measured in the same run.
#
#   wake-to-first-byte   a request to the Express fixture while it sleeps:
#                        from sending it to nginx until its first byte
#                        comes back (the wake module holds it, the API
#                        queues the wake, shipoffd starts the app in the
#                        sandbox, checks its health, pushes the route)
#   exec-to-listening    the same artifact's run command (`npm start`)
#                        started by hand, outside any sandbox, until it
#                        answers an HTTP request on its port
#
# p50 and p99 of each, their ratio and difference: the difference is the
# platform's share of a cold start; the same of each round's difference
# (paired share).  Knobs: BENCH_ROUNDS (10); BENCH_APP=logger runs the
# fixture that is node's http module alone, as `node server.js`: it
# starts in tens of milliseconds, so the share stands out of its noise.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/integration/lib", "$FindBin::Bin/lib";
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);
use ShipoffBench qw(bench_project);
use ShipoffTest qw(stack_up top_dir free_port tempdir wait_for);
use ShipoffNginx qw(send_request);
use ShipoffGit;

my $rounds = $ENV{BENCH_ROUNDS} // 10;

my $cgroups = "shipoff-bench-$$";
my $s = stack_up(env => { SHIPOFF_IDLE_TIMEOUT          => '1s',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups });

# apps outlive shipoffd (by design): they go once the stack is down
END {
    local $?;
    $s->down if $s;
}
my $git = ShipoffGit->start;
my $u = $s->signup;
my $name = "wake$$";
my $http = $s->port('http');

my %apps = (express => 'npm start', logger => 'node server.js');
my $app = $ENV{BENCH_APP} // 'express';
my $run = $apps{$app} // die "bench: BENCH_APP is one of: @{[sort keys %apps]}\n";
my $project_id = bench_project($s, $u, name => $name, branch => 'main',
    run_cmd => $run,
    repo_url => $git->repo($app, top_dir() . "/tests/fixtures/apps/$app"))->{id};
my $res = $s->api(POST => "/api/v1/projects/$project_id/deployments", $u,
                  {});
my $dep = $res->{json}{id};

wait_for(300, sub { $s->psql("SELECT state FROM deployments WHERE id = $dep")
                        =~ /PRODUCTION|FAILED/ });
my ($state, $artifact) = split /\|/, $s->psql("SELECT state, artifact_path"
                                               . " FROM deployments WHERE id = $dep");
die "bench: the fixture did not deploy ($state)\n" unless $state eq 'PRODUCTION';

# seconds until the first byte of the answer to a request sent now
sub first_byte {
    my ($port, $host) = @_;
    my $t0 = time;
    my $sock = send_request($port, 'GET', '/', headers => { Host => $host });
    my $buf = '';
    sysread($sock, $buf, 1) or die "bench: no answer\n";
    my $dt = time - $t0;
    close $sock;
    return $dt;
}

sub asleep {
    return $s->psql("SELECT state FROM app_processes"
                    . " WHERE deployment_id = $dep") eq 'sleeping';
}

# the reference: the run command by hand, polled every 5 ms, with a fresh
# HOME as the sandbox's private /tmp is (npm writes its cache there)
sub exec_to_listening {
    my $port = free_port();
    my $home = tempdir();
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        chdir $artifact or POSIX::_exit(127);
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        POSIX::setsid();
        $ENV{PORT} = $port;
        $ENV{HOME} = $home;
        exec('sh', '-c', "exec $run") or POSIX::_exit(127);
    }
    my ($ok, $dt);
    my $end = time + 60;
    until ($ok || time > $end) {
        my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        if ($c) {
            print $c "GET / HTTP/1.0\r\n\r\n";
            my $buf = '';
            $ok = sysread($c, $buf, 1);
        }
        sleep 0.005 unless $ok;
    }
    $dt = time - $t0;
    kill 'TERM', -$pid;
    waitpid $pid, 0;
    die "bench: $run did not listen\n" unless $ok;
    return $dt;
}

# interleaved, so that both see the same machine
my (@wake, @exec);
for (1 .. $rounds) {
    wait_for(60, \&asleep) or die "bench: the app does not go to sleep\n";
    push @wake, first_byte($http, "$name.localhost");
    push @exec, exec_to_listening();
}

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return $v[ int($p / 100 * $#v + 0.5) ];
}

my ($w50, $w99) = (pct(50, @wake), pct(99, @wake));
my ($e50, $e99) = (pct(50, @exec), pct(99, @exec));

printf "wake of a sleeping app (%s: %s), %d rounds\n", $app, $run, $rounds;
printf "  wake-to-first-byte  p50 %6.0f ms  p99 %6.0f ms\n", $w50 * 1000, $w99 * 1000;
printf "  exec-to-listening   p50 %6.0f ms  p99 %6.0f ms\n", $e50 * 1000, $e99 * 1000;
printf "  ratio               p50 %6.2f x   p99 %6.2f x\n", $w50 / $e50, $w99 / $e99;
printf "  platform's share    p50 %6.0f ms  p99 %6.0f ms  (difference of the p's)\n",
       ($w50 - $e50) * 1000, ($w99 - $e99) * 1000;
# each round's wake less the reference run right after it: the two saw the
# same machine, so their difference is less noisy than the p's difference
my @share = map { $wake[$_] - $exec[$_] } 0 .. $#wake;
printf "  paired share        p50 %6.0f ms  p99 %6.0f ms  (per round)\n",
       pct(50, @share) * 1000, pct(99, @share) * 1000;
