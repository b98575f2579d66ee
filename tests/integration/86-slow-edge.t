# An edge that accepts connections and never answers holds nothing up:
# shipoffd asks the edges off its loop (builder/edgeq.c), so while three
# such edges are listed (first, before the real one) a sleeping app is
# woken, health-checked and routed on the real edge in its usual time,
# and a queued build is claimed at once.  Before, each route push waited
# up to 3 x 5 s per edge and each activity poll 2 s per edge, in the loop.

use strict;
use warnings;
use lib 'tests/integration/lib';
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);
use ShipoffTest qw(stack_up top_dir tempdir free_port in_chroot wait_for);
use ShipoffNginx qw(request);
use ShipoffGit;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

# the slow edge: answers like an edge (an empty activity table, 200 to a
# push) until $hold exists, then accepts and holds every connection
my $dir = tempdir();
my $hold = "$dir/hold";
my $edge_port = free_port();
my $edge = fork // die "fork: $!";
if (!$edge) {
    my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$edge_port",
                                    Listen => 256, ReuseAddr => 1) or POSIX::_exit(1);
    my @held;
    while (my $c = $srv->accept) {
        if (-e $hold) {
            push @held, $c;
            next;
        }
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            sysread($c, $req, 65536, length $req) or last;
        }
        my ($len) = $req =~ /^Content-Length:\s*(\d+)/mi;
        my ($head, $body) = split /\r\n\r\n/, $req, 2;
        $body //= '';
        while (length($body) < ($len // 0)) {
            sysread($c, $body, 65536, length $body) or last;
        }
        my $out = $head =~ /^GET / ? '{"routes":[]}' : '{}';
        print $c "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 . "Content-Length: " . length($out)
                 . "\r\nConnection: close\r\n\r\n$out";
        close $c;
    }
    POSIX::_exit(0);
}

my $s = stack_up(env => { SHIPOFF_IDLE_TIMEOUT          => '3s',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_APP_STOP_GRACE        => '2s',
                          SHIPOFF_STARTUP_TIMEOUT       => '30s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => "shipoff-t86s-$$" });

# apps outlive shipoffd (by design): they go once the stack is down
END {
    local $?;
    $s->down if $s;
    if ($edge) {
        kill 'TERM', $edge;
        waitpid $edge, 0;
    }
}

# shipoffd again, with the slow edges first (the real one's socket is in
# the stack's own directory)
my $slow = join ' ', map { "http://127.0.0.1:$edge_port/e$_/_shipoff/routes" } 1 .. 3;
$s->stop('shipoffd');
$s->{env}{SHIPOFF_EDGES} = "$slow http://unix:" . $s->var
                           . '/run/control/nginx.sock:/_shipoff/routes';
$s->start('shipoffd');

my $top = top_dir();
my $http = $s->port('http');
my $git = ShipoffGit->start;
my $u = $s->signup;
my $name = "slowedge$$";
my $host = "$name.localhost";

sub psql { $s->psql($_[0]) }

sub app_row {
    return psql("SELECT state || ' ' || coalesce(pid::text, '-')"
                . " FROM app_processes WHERE deployment_id = $_[0]");
}

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, branch => 'main',
                    repo_url => $git->repo('express',
                                           "$top/tests/fixtures/apps/express") });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
my $dep = $res->{json}{id};

ok(wait_for(180, sub { psql("SELECT state FROM deployments WHERE id = $dep")
                           eq 'PRODUCTION' }), 'the express app is deployed');
ok(wait_for(20, sub { app_row($dep) eq 'sleeping -' }),
   'idle while every edge answers: sleeping');

# ---- from here on, three of the four edges never answer

open my $fh, '>', $hold or die "$hold: $!";
close $fh;

my $t0 = time;
$res = request($http, 'GET', '/', headers => { Host => $host },
               timeout => 90);
my $took = time - $t0;
is($res->{status}, 200, 'a request to the sleeping app: 200');
like($res->{content}, qr/^express v1/, "... with the app's body");
cmp_ok($took, '<', 5, '... woken, health-checked and routed in under 5 s')
    or diag("the wake took $took s");
like(app_row($dep), qr/^running \d+$/, '... recorded running');

# the reaper's polls of the silent edges time out off the loop (behind
# the pushes those edges hold up: 3 x 5 s)
ok(wait_for(40, sub { $s->logs =~ /idle: .*activity not read/ }),
   'the silent edges: no app is put to sleep on a guess');
like(app_row($dep), qr/^running \d+$/, '... so the app runs on');

# a build is claimed while pushes and polls hang on the silent edges
my $site = $s->api(POST => '/api/v1/projects', $u,
                   { name => "static$$",
                     repo_url => $git->repo('plain', "$top/tests/fixtures/sites/plain"),
                     kind => 'static', build_cmd => 'sh build.sh',
                     output_dir => 'public' });
is($site->{status}, 201, 'a static project') or diag($site->{content});
$t0 = time;
$res = $s->api(POST => "/api/v1/projects/$site->{json}{id}/deployments", $u, {});
is($res->{status}, 202, 'a build queued') or diag($res->{content});
my $build = $res->{json}{id};
ok(wait_for(30, sub { psql("SELECT state FROM deployments WHERE id = $build")
                      ne 'QUEUED' }), '... and claimed');
$took = time - $t0;
cmp_ok($took, '<', 3, '... in under 3 s') or diag("the claim took $took s");

$res = request($http, 'GET', '/', headers => { Host => $host });
is($res->{status}, 200, 'the app still answers');

done_testing();
