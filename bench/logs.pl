#!/usr/bin/perl
# bench/logs.pl: live log tails (GET /api/v1/deployments/:id/logs/stream)
# against the rest of the API, on one stack of our own with the default
# configuration (log_streams_max 64, fcgi_threads 4), shipoffd stopped so
# that the deployment stays QUEUED and its tails stay open:
#
#   tails held            tails opened until the api answers 503 busy,
#                         and how long that 503 takes
#   API with tails open   GET /api/v1/health (wrk) with every slot taken,
#                         as a ratio to the same without tails, interleaved
#   fan-out               a line written as shipoffd writes it (log_lines,
#                         then XADD logs:<id>): from the XADD until every
#                         open tail has it, p50 and max over BENCH_LINES
#   the api's memory      VmRSS with the tails open / without
#
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNS (16),
# BENCH_LINES (20); BENCH_STREAMS_MAX sets log_streams_max (each tail holds
# a PostgreSQL connection: past the server's max_connections, tails fail).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/integration/lib", "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use ShipoffBench qw(bench_project);
use ShipoffTest qw(stack_up);

my $secs = $ENV{BENCH_SECONDS} // 5;
my $rounds = $ENV{BENCH_ROUNDS} // 3;
my $conns = $ENV{BENCH_CONNS} // 16;
my $nlines = $ENV{BENCH_LINES} // 20;

system('sh', '-c', 'command -v wrk >/dev/null') == 0
    or die "bench: wrk is missing (make deps)\n";

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '100000r/s',
                          SHIPOFF_AUTH_BURST => 100000,
                          ($ENV{BENCH_STREAMS_MAX}
                           ? (SHIPOFF_LOG_STREAMS_MAX => $ENV{BENCH_STREAMS_MAX})
                           : ()) });
$s->stop('shipoffd');
my $port = $s->port('http');
my $u = $s->signup;

my $pid = bench_project($s, $u, name => "benchlogs$$",
    repo_url => 'https://github.com/Codertocat/Hello-World')->{id};
my $res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
die "bench: deploy: $res->{status}\n" unless $res->{status} == 202;
my $dep = $res->{json}{id};

# a tail: the socket once its headers came, or (undef, status)
sub tail_open {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 5)
        or die "bench: connect: $!";
    print $sock "GET /api/v1/deployments/$dep/logs/stream HTTP/1.0\r\n"
        . "Host: 127.0.0.1\r\nAuthorization: Bearer $u->{access_token}\r\n\r\n";
    my $buf = '';
    my $sel = IO::Select->new($sock);
    until ($buf =~ /\r\n\r\n/) {
        $sel->can_read(10) or die "bench: a tail got no answer";
        sysread($sock, $buf, 4096, length $buf) or last;
    }
    my ($status) = $buf =~ /^HTTP\/1\.\d (\d+)/;
    if ($status != 200) {
        sysread($sock, $buf, 4096, length $buf) until $buf =~ /\}\}/
            || !$sel->can_read(5);
        my ($code) = $buf =~ /"code":"([a-z_]+)"/;
        return (undef, "$status " . ($code // '?'));
    }
    return ($sock, $status);
}

sub rss_kb {
    open my $fh, '<', $s->var . '/run/api.pid' or return -1;
    chomp(my $p = <$fh>);
    open my $st, '<', "/proc/$p/status" or return -1;
    while (<$st>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return -1;
}

# wrk on health: (requests/s, p50 ms, p99 ms)
sub wrk {
    my $out = `wrk -t2 -c$conns -d${secs}s --latency '${\ $s->url('/api/v1/health')}' 2>&1`;
    my ($rps) = $out =~ /^Requests\/sec:\s+([\d.]+)/m;
    my %lat;
    while ($out =~ /^\s+(50|99)%\s+([\d.]+)(us|ms|s)\b/mg) {
        $lat{$1} = $2 * { us => 0.001, ms => 1, s => 1000 }->{$3};
    }
    die "bench: wrk: no result:\n$out" unless defined $rps;
    return ($rps, $lat{50}, $lat{99});
}

sub open_all {
    my (@tails, $status);
    for (;;) {
        my ($t, $st) = tail_open();
        if (!$t) { $status = $st; last }
        push @tails, $t;
        die "bench: more than 100000 tails?" if @tails > 100000;
    }
    return ($status, @tails);
}

my $rss0 = rss_kb();
my (%sum, $held, $refused, $busy_ms, $rss1, @fan);

for my $round (1 .. $rounds) {
    my @r = wrk();
    $sum{base}[$_] += $r[$_] for 0 .. 2;

    my ($status, @tails) = open_all();
    die "bench: the tail past the last answered $status, not 503\n"
        unless $status =~ /^503/;
    $refused = $status;
    $held = @tails;
    my $t0 = time;
    my (undef, $st) = tail_open();
    $busy_ms = 1000 * (time - $t0);
    $rss1 = rss_kb();

    @r = wrk();
    $sum{tails}[$_] += $r[$_] for 0 .. 2;

    # fan-out, in the last round: a line, as shipoffd writes it
    if ($round == $rounds) {
        for my $i (1 .. $nlines) {
            my $text = "bench line $i " . int(rand(1e9));
            my $t1 = time;
            $s->psql("INSERT INTO log_lines (deployment_id, project_id,"
                     . " stream, line) VALUES ($dep, $pid, 'stdout', '$text')");
            $s->redis('XADD', "logs:$dep", '*', 'at',
                      '2026-01-01T00:00:00.000Z', 'stream', 'stdout',
                      'line', $text);
            # from the moment the line is announced (redis-cli returned)
            $t1 = time;
            my %left = map { fileno($_) => $_ } @tails;
            my %buf;
            my $sel = IO::Select->new(@tails);
            while (%left && time - $t1 < 10) {
                for my $fh ($sel->can_read(1)) {
                    my $fd = fileno($fh);
                    sysread($fh, $buf{$fd}, 65536, length($buf{$fd} // ''));
                    if (($buf{$fd} // '') =~ /\Q$text\E/) {
                        delete $left{$fd};
                        $sel->remove($fh);
                    }
                }
            }
            die "bench: a tail never got line $i\n" if %left;
            push @fan, 1000 * (time - $t1);
        }
    }

    close $_ for @tails;
    sleep 2;    # the api notices the closed tails (within a second)
}

for my $k (keys %sum) { $_ /= $rounds for @{ $sum{$k} } }
@fan = sort { $a <=> $b } @fan;

printf "# log_streams_max %s, fcgi_threads 4; wrk -t2 -c%d, %ds per run,"
       . " %d interleaved rounds\n", $ENV{BENCH_STREAMS_MAX} // '64 (default)',
       $conns, $secs, $rounds;
printf "%-34s %6d   (then %s, answered in %.1f ms)\n",
       'tails held by one api process', $held, $refused, $busy_ms;
printf "%-34s %9.0f req/s   p50 %.2f ms   p99 %.2f ms\n",
       'GET /api/v1/health, no tails', @{ $sum{base} };
printf "%-34s %9.0f req/s   p50 %.2f ms   p99 %.2f ms   ratio %.3f\n",
       "GET /api/v1/health, $held tails", @{ $sum{tails} },
       $sum{tails}[0] / $sum{base}[0];
printf "%-34s p50 %.1f ms   max %.1f ms   (%d lines, from the XADD)\n",
       "a line to all $held tails",
       $fan[int($#fan / 2)], $fan[-1], scalar @fan;
printf "%-34s %d KiB -> %d KiB with %d tails\n", 'api VmRSS', $rss0, $rss1,
       $held;
