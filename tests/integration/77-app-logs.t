# A running app's logs, as `heroku logs --tail` shows them: a deployed app
# that prints a line on each request, followed after PRODUCTION by
#   - the project's stream (GET /projects/:id/logs/stream, Server-Sent
#     Events through nginx): the lines a request produces, in order, each
#     with its source (app, or platform for what shipoffd says), then a
#     crash and its restart, a sleep and the wake; Last-Event-ID resumes
#     right after the line given;
#   - `shipoff logs --app`, the same lines as they come;
#   - the project's history with the source of each line (build, app,
#     platform);
#   - 404 for another user.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep);
use ShipoffTest qw(stack_up top_dir tempdir in_chroot wait_for json_decode);
use ShipoffNginx qw(request);
use ShipoffGit;
use ShipoffSSE qw(sse_next);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $bin = top_dir() . '/cli/shipoff';
plan skip_all => "$bin is not built" unless -x $bin;

my $cgroups = "shipoff-t77a-$$";
my $s = stack_up(env => { SHIPOFF_IDLE_TIMEOUT          => '6s',
                          SHIPOFF_REAP_INTERVAL         => '1s',
                          SHIPOFF_APP_DRAIN             => '1s',
                          SHIPOFF_APP_STOP_GRACE        => '2s',
                          SHIPOFF_RECONCILE_INTERVAL    => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

my $cli;
END {
    local $?;
    kill 'TERM', $cli if $cli;
    $s->down if $s;
}

my $http = $s->port('http');
my $git = ShipoffGit->start;
my $u = $s->signup;
my $other = $s->signup;
my $name = "logger$$";

sub get {
    return request($http, 'GET', $_[0],
                   headers => { Host => "$name.localhost" }, timeout => 10);
}

# the next line event of $st whose text matches $re, within $secs
sub next_line {
    my ($st, $re, $secs) = @_;
    my $end = time + $secs;
    while (my $ev = sse_next($st, $end - time)) {
        next unless defined $ev->{id};
        my $l = json_decode($ev->{data});
        return $l if $l->{line} =~ $re;
    }
    return undef;
}

# ---- the app reaches PRODUCTION

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, branch => 'main',
                    repo_url => $git->repo('logger', top_dir()
                                           . '/tests/fixtures/apps/logger') });
is($res->{status}, 201, 'the project') or diag($res->{content});
my $pid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/projects/$pid/deployments", $u, {});
my $dep = $res->{json}{id};
ok(wait_for(120, sub { $s->psql("SELECT state FROM deployments"
                                . " WHERE id = $dep") eq 'PRODUCTION' }),
   'PRODUCTION') or diag($s->log_text($dep));

# ---- the stream and the CLI, then requests

my $st = sse_open("/api/v1/projects/$pid/logs/stream", $u);
is($st->{status}, 200, 'the project stream: 200');
like($st->{headers}{'content-type'}, qr{^text/event-stream}, '  SSE');
my $first = next_line($st, qr/^listening on \d+$/, 10);
ok($first, '  opens with the recent lines: the app listening');
is($first->{source}, 'app', '  source app') if $first;

my $tmp = tempdir();
$cli = fork // die "fork: $!";
if (!$cli) {
    %ENV = (%ENV, HOME => $tmp, SHIPOFF_API => $s->url(''),
            SHIPOFF_TOKEN => $u->{access_token});
    open STDOUT, '>', "$tmp/out" or die;
    open STDERR, '>', "$tmp/err" or die;
    exec $bin, 'logs', '--app', '--project', $name or POSIX::_exit(127);
}

sub cli_out { open my $fh, '<', "$tmp/out" or return ''; local $/; <$fh> // '' }

ok(wait_for(10, sub { cli_out() =~ /^listening on/m }),
   'shipoff logs --app: the recent lines') or diag(cli_out());

my $tag = "t$$";
for my $i (1 .. 3) {
    is(get("/$tag-$i")->{status}, 200, "request $i answered");
}

my @seen;
for my $i (1 .. 3) {
    my $l = next_line($st, qr{^request \d+ /\Q$tag\E-\d$}, 10);
    push @seen, $l;
}
is_deeply([ map { $_ && ($_->{line} =~ m{-(\d)$})[0] } @seen ], [1, 2, 3],
          'the stream: each request\'s line, in order');
is_deeply([ map { $_ && "$_->{source} $_->{stream}" } @seen ],
          [ ('app stdout') x 3 ], '  source app, on stdout');
ok($seen[0] && $seen[0]{id} < $seen[2]{id}, '  ids grow');

ok(wait_for(10, sub { cli_out() =~ m{/\Q$tag\E-3$}m }),
   'shipoff logs --app: the same lines') or diag(cli_out());
is(join(',', cli_out() =~ m{^request \d+ /\Q$tag\E-(\d)$}mg), '1,2,3',
   '  in order');

# ---- a crash and its restart, a sleep and a wake: said on the stream

is(get('/crash')->{status}, 200, 'GET /crash');
my $l = next_line($st, qr/^crashing on request$/, 10);
is($l && "$l->{source} $l->{stream}", 'app stderr', 'the crash, on stderr');
$l = next_line($st, qr/^restarting the app in/, 10);
is($l && $l->{source}, 'platform', 'the restart, said by the platform');
ok(next_line($st, qr/^the app answers on port/, 30), '  and it answers again');

$l = next_line($st, qr/^the app sleeps until a request wakes it$/, 30);
is($l && $l->{source}, 'platform', 'idle: the app sleeps, the stream says so');
ok(wait_for(30, sub { get("/$tag-woken")->{status} == 200 }),
   'a request wakes it');
ok(next_line($st, qr/^a request woke the app$/, 30), '  the stream says so');
ok(next_line($st, qr{^request \d+ /\Q$tag\E-woken$}, 10),
   '  then the request\'s line');
ok(wait_for(10, sub { cli_out() =~ /^a request woke the app$/m }),
   '  and shipoff logs --app too') or diag(cli_out());

kill 'TERM', $cli;
waitpid $cli, 0;
$cli = 0;

# ---- Last-Event-ID resumes right after the line given

my $again = sse_open("/api/v1/projects/$pid/logs/stream", $u,
                     'Last-Event-ID' => $seen[0]{id});
my $ev = sse_next($again, 10);
my $next = $ev && json_decode($ev->{data});
like($next && $next->{line}, qr{^request \d+ /\Q$tag\E-2$},
     'Last-Event-ID: the line after it');

# ---- history: every line says its source

my %source_of = (build => 'build', system => 'platform', stdout => 'app',
                 stderr => 'app');
$res = $s->api(GET => "/api/v1/projects/$pid/logs?limit=1000", $u);
my @h = @{ $res->{json}{data} || [] };
my %sources = map { $_->{source} => 1 } @h;
ok($sources{app} && $sources{platform}, 'the history: app and platform lines');
is(scalar(grep { $_->{source} ne $source_of{ $_->{stream} } } @h), 0,
   '  each line\'s source follows from its stream');

# ---- another user: 404

$res = $s->api(GET => "/api/v1/projects/$pid/logs/stream", $other);
is($res->{status}, 404, 'another user: 404');

sub sse_open { ShipoffSSE::sse_open($http, @_) }

done_testing;
