#!/usr/bin/perl
# bench/api.pl: the control plane's costs, as ratios against
# GET /api/v1/health measured in the same run (wrk on loopback, one
# stack of our own in a temp dir):
#
#   GET /api/v1/me with a JWT       the cost of authentication (issue: the
#                                   token check must be < 10 % of a request)
#   so_jwt_verify() in process      the token check's CPU time (bench/jwt),
#                                   as a share of a health request's time
#   GET /api/v1/projects            an authorised list from PostgreSQL
#   POST /auth/v1/login             throughput with the configured argon2id
#   POST /hooks/github (push)       latency to 202 on one connection, p50/p99
#
# Knobs: BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_CONNS (16).

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/integration/lib", "$FindBin::Bin/lib";
use Digest::SHA qw(hmac_sha256_hex);
use ShipoffBench qw(bench_project);
use ShipoffTest qw(stack_up tempdir top_dir);

my $secs = $ENV{BENCH_SECONDS} // 5;
my $rounds = $ENV{BENCH_ROUNDS} // 3;
my $conns = $ENV{BENCH_CONNS} // 16;

system('sh', '-c', 'command -v wrk >/dev/null') == 0
    or die "bench: wrk is missing (make deps)\n";

# no rate limit on /auth/ for the login measure
my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '100000r/s',
                          SHIPOFF_AUTH_BURST => 100000 });
my $user = $s->signup(password => 'correct horse battery staple');
my $auth = "Authorization: Bearer $user->{access_token}";
my $dir = tempdir();

my $secret = bench_project($s, $user, name => "bench$$",
    repo_url => 'https://github.com/Codertocat/Hello-World')->{webhook_secret};

open my $fh, '<', top_dir() . '/tests/fixtures/github/push.json' or die $!;
my $push = do { local $/; <$fh> };
close $fh;

sub script {
    my ($name, $text) = @_;
    open my $out, '>', "$dir/$name.lua" or die $!;
    print $out $text;
    close $out;
    return "$dir/$name.lua";
}

sub lua_string { my $s = shift; $s =~ s/([\\"])/\\$1/g; $s =~ s/\n/\\n/g; "\"$s\"" }

my $login = script('login', 'wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = ' . lua_string(sprintf('{"email":"%s","password":"%s"}',
                                  $user->{user}{email},
                                  'correct horse battery staple')) . "\n");

my $hook = script('hook', 'local n = 0
local id = math.random(1, 1000000000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = "sha256=' . hmac_sha256_hex($push, $secret) . '"
wrk.body = ' . lua_string($push) . '
request = function()
    n = n + 1
    wrk.headers["X-GitHub-Delivery"] = "bench-" .. id .. "-" .. n
    return wrk.format()
end
');

# wrk(path, extra args): (requests/s, p50 ms, p99 ms)
sub wrk {
    my ($path, @args) = @_;
    my $out = `wrk -t2 -c$conns -d${secs}s --latency @args '${\ $s->url($path)}' 2>&1`;
    my ($rps) = $out =~ /^Requests\/sec:\s+([\d.]+)/m;
    my %lat;
    while ($out =~ /^\s+(50|99)%\s+([\d.]+)(us|ms|s)\b/mg) {
        $lat{$1} = $2 * { us => 0.001, ms => 1, s => 1000 }->{$3};
    }
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses: (\d+)/;
    die "bench: $path: no result:\n$out" unless defined $rps;
    warn "bench: $path: $non2xx answers were not 2xx\n" if $non2xx;
    return ($rps, $lat{50}, $lat{99});
}

my %sum;
for (1 .. $rounds) {
    $sum{health} += (wrk('/api/v1/health'))[0];
    $sum{me} += (wrk('/api/v1/me', '-H', "'$auth'"))[0];
    $sum{list} += (wrk('/api/v1/projects', '-H', "'$auth'"))[0];
}
$sum{$_} /= $rounds for keys %sum;

my ($login_rps) = wrk('/auth/v1/login', '-s', $login);
# latency alone, not queueing: one connection (later -t/-c win in wrk)
my ($hook_rps, $p50, $p99) = wrk('/hooks/github', '-s', $hook, '-t1', '-c1');

printf "# wrk -t2 -c%d, %ds per run, %d interleaved rounds\n",
       $conns, $secs, $rounds;
printf "%-28s %9.0f req/s\n", 'GET /api/v1/health', $sum{health};
printf "%-28s %9.0f req/s   ratio %.3f   token check: %.1f %% of a request\n",
       'GET /api/v1/me (JWT)', $sum{me}, $sum{me} / $sum{health},
       100 * (1 / $sum{me} - 1 / $sum{health}) / (1 / $sum{me});
my $verify_us = `'${\ top_dir()}/bench/jwt'`;
die "bench: bench/jwt failed (make bench/jwt)\n" if $? || !$verify_us;
chomp $verify_us;
printf "%-28s %9.2f us        %.1f %% of a health request (%.0f us)\n",
       'so_jwt_verify (in process)', $verify_us,
       100 * $verify_us / (1e6 / $sum{health}), 1e6 / $sum{health};
printf "%-28s %9.0f req/s   ratio %.3f\n", 'GET /api/v1/projects',
       $sum{list}, $sum{list} / $sum{health};
printf "%-28s %9.1f req/s   (argon2id m=%s KiB t=%s, %s at once)\n",
       'POST /auth/v1/login', $login_rps, 19456, 2, 2;
printf "%-28s %9.0f req/s   p50 %.2f ms   p99 %.2f ms\n",
       'POST /hooks/github (push)', $hook_rps, $p50 // -1, $p99 // -1;
