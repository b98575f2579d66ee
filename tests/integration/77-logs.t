# The logs API on the real stack: shipoffd builds a static project from a
# file:// repository whose build prints known lines, a JSON line and a
# secret; then
#   - history (GET /deployments/:id/logs) in pages without gaps or
#     duplicates, JSON lines with their fields, the secret only as ****;
#   - search (?q=) over a deployment and over a project;
#   - the live tail (GET /deployments/:id/logs/stream, Server-Sent Events
#     through nginx): history then live lines while a slow build runs, a
#     heartbeat, the "end" event, Last-Event-ID resuming exactly;
#   - the cap on tails (log_streams_max 3): the 4th is 503 busy at once
#     while health answers, and a closed tail frees its slot;
#   - 404 for a stranger, 422 for bad parameters;
#   - retention by shipoffd: lines past log_max_age, then the oldest lines
#     of a project past log_max_size.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use ShipoffGit;
use ShipoffSSE qw(sse_next sse_rest);
use ShipoffTest qw(stack_up run tempdir top_dir json_decode in_chroot wait_for);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cgroups = "shipoff-t77-$$";
my $s = stack_up(env => { SHIPOFF_LOG_STREAMS_MAX       => '3',
                          SHIPOFF_RECONCILE_INTERVAL    => '1s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cgroups,
                          SHIPOFF_AUTH_RATE             => '1000r/s' });

END {
    local $?;
    $s->down if $s;
    rmdir "/sys/fs/cgroup/$_/$cgroups" for qw(memory pids cpu freezer);
}

my $top = top_dir();
my $port = $s->port('http');
my $secret = 's3cr3t-logs-value';

sub psql { $s->psql($_[0]) }

# --- a live tail, read as a browser's EventSource would ---------------------

sub sse_open { ShipoffSSE::sse_open($port, @_) }

sub lines_of { map { json_decode($_->{data}) } grep { defined $_->{id} } @_ }

# --- the project -------------------------------------------------------------

# the repository, served over HTTP: the plain fixture; commit(MSG, SCRIPT)
# makes SCRIPT its build.sh
my $git = ShipoffGit->start;
my $repo_url = $git->repo('site', 'tests/fixtures/sites/plain');

sub commit {
    my ($msg, $script) = @_;
    return $git->commit('site', { 'build.sh' => $script }, $msg);
}

my $u = $s->signup;
my $stranger = $s->signup;

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => "logs$$", repo_url => $repo_url,
                    kind => 'static', build_cmd => 'sh build.sh',
                    output_dir => 'public' });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};

$res = $s->api(PUT => "/api/v1/projects/$pid/env/TOKEN", $u,
               { value => $secret, secret => JSON::PP::true() });
ok($res->{status} == 201 || $res->{status} == 200, 'a secret env var')
    or diag($res->{content});

my %final = map { $_ => 1 } qw(PRODUCTION INACTIVE FAILED CANCELED);

sub deploy {
    my ($sha) = @_;
    my $r = $s->api(POST => "/api/v1/projects/$pid/deployments", $u,
                    { commit => $sha });
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    return $r->{json}{id};
}

sub state_of {
    return $s->api(GET => "/api/v1/deployments/$_[0]", $u)->{json}{state};
}

# the end of a build as a client sees it: its tail's "end" event (shipoffd
# sends it once every line is stored; the state is final a little before)
sub built {
    my ($id) = @_;
    my $t = sse_open("/api/v1/deployments/$id/logs/stream", $u);
    my @e = sse_rest($t, 120);
    close $t->{sock};
    return json_decode($e[-1]{data})->{state}
        if @e && ($e[-1]{event} // '') eq 'end';
    diag("deployment $id: tail $t->{status}, " . scalar(@e) . " events, no"
         . " end; state " . (state_of($id) // '?'));
    return undef;
}

# what went wrong with a build
sub why {
    my ($id) = @_;
    my $r = $s->api(GET => "/api/v1/deployments/$id/logs?limit=1000", $u);
    return join "\n", "state " . (state_of($id) // '?'),
                      map { "$_->{stream}: $_->{line}" }
                          @{ $r->{json}{data} || [] };
}

sub wait_final {
    my ($id) = @_;
    my $st;
    wait_for(60, sub { $st = state_of($id) // ''; $final{$st} });
    return $st;
}

# the whole history of a deployment, in pages of $limit
sub history {
    my ($id, $limit) = @_;
    my (@all, $since, $pages);
    for (;;) {
        my $q = "limit=$limit" . (defined $since ? "&since=$since" : '');
        my $r = $s->api(GET => "/api/v1/deployments/$id/logs?$q", $u);
        die "history: $r->{status} $r->{content}" unless $r->{status} == 200;
        $pages++;
        push @all, @{ $r->{json}{data} };
        last unless defined $r->{json}{next};
        $since = $r->{json}{next};
    }
    return ($pages, @all);
}

my $sha1 = commit('lines', <<"EOF");
set -e
echo "first line alpha"
i=1
while [ \$i -le 250 ]; do echo "numbered line \$i"; i=\$((i + 1)); done
echo '{"level":"info","msg":"structured hello","n":42}'
echo "the token is $secret" >&2
rm -rf public
cp -r site public
echo "last line omega"
EOF

my $d1 = deploy($sha1);
is(built($d1), 'PRODUCTION', "deployment $d1 built by shipoffd")
    or diag(why($d1));

# --- history -----------------------------------------------------------------

my ($pages, @h) = history($d1, 1000);
my $stored = psql("SELECT count(*) FROM log_lines WHERE deployment_id = $d1");
is(scalar @h, $stored, "history: every stored line ($stored)");
is($pages, 1, '  in one page of 1000');
my ($pages100, @h100) = history($d1, 100);
is_deeply([ map { $_->{id} } @h100 ], [ map { $_->{id} } @h ],
          "  in pages of 100 ($pages100): the same lines, no gap, no repeat");
ok($pages100 >= 3, '  several pages');
ok(!grep({ $h[$_]{id} <= $h[$_ - 1]{id} } 1 .. $#h), '  oldest first');
is((grep { $_->{line} =~ /^numbered line \d+$/ } @h), 250,
   '  the 250 numbered lines');
my @order = map { $_->{line} =~ /^numbered line (\d+)$/ ? $1 : () } @h;
is_deeply(\@order, [ 1 .. 250 ], '  in the order printed');
my ($first) = grep { $_->{line} eq 'first line alpha' } @h;
is($first->{stream}, 'stdout', '  a line has its stream');
like($first->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
     '  and its time (RFC 3339, ms)');
ok((grep { $_->{stream} eq 'system' } @h), '  shipoffd\'s own lines too');
my ($json) = grep { $_->{line} =~ /structured hello/ } @h;
is_deeply($json->{fields}, { level => 'info', msg => 'structured hello',
                             n => 42 }, '  a JSON line keeps its fields');
ok(!exists $first->{fields}, '  a plain line has none');
my ($tok) = grep { $_->{line} =~ /^the token is/ } @h;
is($tok->{line}, 'the token is ****', '  the secret is masked');
is($tok->{stream}, 'stderr', '  (printed on stderr)');
ok(!grep({ $_->{line} =~ /\Q$secret\E/ } @h),
   '  the secret value is in no line');

my $mid = $h[int(@h / 2)]{id};
$res = $s->api(GET => "/api/v1/deployments/$d1/logs?since=$mid&limit=5", $u);
my @after = grep { $_->{id} > $mid } @h;
is_deeply([ map { $_->{id} } @{ $res->{json}{data} } ],
          [ map { $_->{id} } @after[0 .. 4] ], 'since=ID: the 5 lines after it');
is($res->{json}{next}, $res->{json}{data}[4]{id}, '  next: the last id');
$res = $s->api(GET => "/api/v1/deployments/$d1/logs?since=$h[-1]{id}", $u);
is_deeply($res->{json}, { data => [], next => undef },
          '  past the last line: nothing, next null');

# --- search ------------------------------------------------------------------

for my $c ([ 'alpha', [ 'first line alpha' ] ],
           [ 'structured hello', [ '{"level":"info","msg":"structured hello","n":42}' ] ],
           [ 'numbered 250', [ 'numbered line 250' ] ],
           [ '"line omega"', [ 'last line omega' ] ],
           [ 'nothing-like-this', [] ],
           [ $secret, [] ]) {
    my ($q, $want) = @$c;
    my $e = $q =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ger;
    $res = $s->api(GET => "/api/v1/deployments/$d1/logs?q=$e", $u);
    is($res->{status}, 200, "q=$q: 200") or diag($res->{content});
    is_deeply([ map { $_->{line} } @{ $res->{json}{data} } ], $want,
              "  the matching lines");
}

$res = $s->api(GET => "/api/v1/projects/$pid/logs?q=omega", $u);
is($res->{status}, 200, 'project search: 200') or diag($res->{content});
is(scalar @{ $res->{json}{data} }, 1, '  one line');
is($res->{json}{data}[0]{deployment_id}, $d1, '  it says its deployment');
$res = $s->api(GET => "/api/v1/projects/$pid/logs?limit=1000", $u);
is(scalar @{ $res->{json}{data} }, scalar @h,
   'project history: every line of its deployments');

# --- refused -----------------------------------------------------------------

for my $c ([ 'limit=0', 'limit' ], [ 'limit=1001', 'limit' ],
           [ 'limit=x', 'limit' ], [ 'since=-1', 'since' ],
           [ 'since=1e3', 'since' ],
           [ 'since=99999999999999999999', 'since' ],
           [ 'q=' . ('x' x 300), 'q' ]) {
    my ($q, $field) = @$c;
    ShipoffTest::error_is($s->api(GET => "/api/v1/deployments/$d1/logs?$q",
                                  $u),
                          422, 'validation_failed', substr($q, 0, 20),
                          $field);
}
ShipoffTest::error_is(
    $s->api(GET => "/api/v1/projects/$pid/logs?limit=0", $u),
    422, 'validation_failed', 'project: limit=0', 'limit');

for my $path ("/api/v1/deployments/$d1/logs", "/api/v1/projects/$pid/logs",
              "/api/v1/deployments/$d1/logs/stream",
              "/api/v1/deployments/999999999/logs/stream") {
    ShipoffTest::error_is($s->api(GET => $path, $stranger), 404,
                          'not_found', "a stranger: $path");
}
is($s->api(GET => "/api/v1/deployments/$d1/logs")->{status}, 401,
   'anonymous: 401');
my $bad = sse_open("/api/v1/deployments/$d1/logs/stream", $u,
                   'Last-Event-ID' => 'abc');
is($bad->{status}, 400, 'stream: a Last-Event-ID not of ours is 400');

# --- the tail of a finished deployment ---------------------------------------

my $st = sse_open("/api/v1/deployments/$d1/logs/stream", $u);
is($st->{status}, 200, 'stream: 200');
like($st->{headers}{'content-type'}, qr{^text/event-stream},
     '  text/event-stream');
my @ev = sse_rest($st, 20);
is_deeply([ map { $_->{id} } grep { defined $_->{id} } @ev ],
          [ map { $_->{id} } @h ], '  every line, as in the history');
is_deeply([ map { $_->{line} } lines_of(@ev) ], [ map { $_->{line} } @h ],
          '  the same text');
is($ev[-1]{event}, 'end', '  then "end"');
is_deeply(json_decode($ev[-1]{data}), { state => 'PRODUCTION' },
          '  with the final state');
ok(!sse_next($st, 5) && $st->{eof}, '  and the stream closes');
my ($sj) = grep { $_->{line} =~ /structured hello/ } lines_of(@ev);
is($sj->{fields}{n}, 42, '  JSON lines keep their fields');
ok(!grep({ ($_->{data} // '') =~ /\Q$secret\E/ } @ev),
   '  the secret value is in no event');

$st = sse_open("/api/v1/deployments/$d1/logs/stream", $u,
               'Last-Event-ID' => $mid);
@ev = sse_rest($st, 20);
is_deeply([ map { $_->{id} } grep { defined $_->{id} } @ev ],
          [ map { $_->{id} } grep { $_->{id} > $mid } @h ],
          'Last-Event-ID from the middle: exactly the rest');
is($ev[-1]{event}, 'end', '  then "end"');

# --- a live tail while a slow build runs; the cap on tails --------------------

my $sha2 = commit('slow', <<'EOF');
echo "slow start"
sleep 2
echo "slow middle"
sleep 18
echo "slow end"
rm -rf public
cp -r site public
EOF
my $d2 = deploy($sha2);

my $a = sse_open("/api/v1/deployments/$d2/logs/stream", $u);
is($a->{status}, 200, 'tail A of a deployment being built');
my (@a, $ev);
while ($ev = sse_next($a, 30)) {
    push @a, $ev;
    last if ($ev->{data} // '') =~ /"line":"slow start"/;
}
ok($ev, '  A gets "slow start"');

my $b = sse_open("/api/v1/deployments/$d2/logs/stream", $u);
my $c = sse_open("/api/v1/deployments/$d2/logs/stream", $u);
is("$b->{status} $c->{status}", '200 200', 'tails B and C: 3 open');

my $t0 = time;
my $busy = $s->api(GET => "/api/v1/deployments/$d2/logs/stream", $u);
ShipoffTest::error_is($busy, 503, 'busy', 'a 4th tail (log_streams_max 3)');
ok($busy->{headers}{'retry-after'}, '  with Retry-After');
my $health = $s->api(GET => '/api/v1/health');
is($health->{status}, 200, 'health answers while 3 tails are open');
is($s->api(GET => "/api/v1/deployments/$d1/logs?limit=1", $u)->{status},
   200, 'and so does the rest of the API');

while ($ev = sse_next($a, 30)) {
    push @a, $ev;
    last if ($ev->{data} // '') =~ /"line":"slow middle"/;
}
ok($ev, 'A gets "slow middle", printed after it connected');
is(state_of($d2), 'BUILDING', '  while the build still runs');
my @a_ids = map { $_->{id} } grep { defined $_->{id} } @a;
close $a->{sock};

# the slot of A comes free once the api notices A went away
my $a2;
wait_for(10, sub {
    $a2 = sse_open("/api/v1/deployments/$d2/logs/stream", $u,
                   'Last-Event-ID' => $a_ids[-1]);
    return 1 if $a2->{status} == 200;
    close $a2->{sock};
    sleep 0.2;
    return 0;
});
is($a2->{status}, 200, 'A closed: its slot is free again, A resumes');

my @b = sse_rest($b, 60);
my @c = sse_rest($c, 60);
my @a2 = sse_rest($a2, 60);
is(wait_final($d2), 'PRODUCTION', "deployment $d2 PRODUCTION");
my (undef, @h2) = history($d2, 1000);
my @h2_ids = map { $_->{id} } @h2;

ok((grep { ($_->{comment} // '') eq 'heartbeat' } @b),
   'B: a heartbeat comment while the build is quiet');
is_deeply([ map { $_->{id} } grep { defined $_->{id} } @b ], \@h2_ids,
          'B: every line of the build, once, in order');
is($b[-1]{event}, 'end', '  then "end"');
is_deeply(json_decode($b[-1]{data} // '{}'), { state => 'PRODUCTION' },
          '  PRODUCTION');
is_deeply([ map { $_->{id} } grep { defined $_->{id} } @c ], \@h2_ids,
          'C: the same');
is_deeply([ @a_ids, map { $_->{id} } grep { defined $_->{id} } @a2 ],
          \@h2_ids, 'A then A resumed with Last-Event-ID: every line once');
is($a2[-1]{event}, 'end', '  and "end"');
my ($line_b) = grep { $_->{line} eq 'slow end' } lines_of(@b);
ok($line_b, '  "slow end" came live');

# --- builds that never wrote "end" -------------------------------------------

# Redis lost the stream (or no build ever ran): the final state ends it
$s->redis('DEL', "logs:$d1");
$st = sse_open("/api/v1/deployments/$d1/logs/stream", $u,
               'Last-Event-ID' => $h[-3]{id});
@ev = sse_rest($st, 20);
is_deeply([ map { $_->{id} } grep { defined $_->{id} } @ev ],
          [ map { $_->{id} } @h[-2, -1] ], 'no stream in Redis: the lines');
is_deeply(json_decode($ev[-1]{data} // '{}'), { state => 'INACTIVE' },
          '  then "end" with the state of the deployment');

# lines but no "end" (its builder died): the state, once settled, ends it
$s->redis('XADD', "logs:$d1", '*', 'at', '2026-01-01T00:00:00.000Z',
          'stream', 'stdout', 'line', 'a line of a builder that died');
$st = sse_open("/api/v1/deployments/$d1/logs/stream", $u,
               'Last-Event-ID' => $h[-1]{id});
@ev = sse_rest($st, 30);
is_deeply(json_decode($ev[-1]{data} // '{}'), { state => 'INACTIVE' },
          'a stream without "end": "end" once the final state settled');

# --- retention ---------------------------------------------------------------

sub restart_shipoffd {
    my (%env) = @_;
    $s->{env}{$_} = $env{$_} for keys %env;
    $s->stop('shipoffd');
    my ($rc, $out) = $s->start('shipoffd');
    is($rc, 0, "shipoffd restarted with @{[ %env ]}") or diag($out);
}

my $n2 = psql("SELECT count(*) FROM log_lines WHERE deployment_id = $d2");
psql("UPDATE log_lines SET at = now() - interval '2 hours'"
     . " WHERE deployment_id = $d1");
restart_shipoffd(SHIPOFF_LOG_MAX_AGE => '60');
ok(wait_for(30, sub { psql("SELECT count(*) FROM log_lines"
                           . " WHERE deployment_id = $d1") == 0 }),
   'log_max_age: the lines older than it are deleted');
is(psql("SELECT count(*) FROM log_lines WHERE deployment_id = $d2"), $n2,
   '  the younger ones stay');
is(psql("SELECT bytes FROM log_usage WHERE project_id = $pid"),
   psql("SELECT sum(octet_length(line)) FROM log_lines"
        . " WHERE project_id = $pid"), '  log_usage follows');

# a third deployment makes the project larger than 1 KiB
my $d3 = deploy($sha1);
is(built($d3), 'PRODUCTION', "deployment $d3 PRODUCTION") or diag(why($d3));
my $max_id = psql("SELECT max(id) FROM log_lines WHERE project_id = $pid");
cmp_ok(psql("SELECT sum(octet_length(line)) FROM log_lines"
            . " WHERE project_id = $pid"), '>', 4096,
       'the project holds more than 4 KiB of lines');
restart_shipoffd(SHIPOFF_LOG_MAX_AGE => '14d', SHIPOFF_LOG_MAX_SIZE => '4k');
ok(wait_for(30, sub { psql("SELECT coalesce(sum(octet_length(line)), 0)"
                           . " FROM log_lines WHERE project_id = $pid")
                      <= 4096 }),
   'log_max_size: the project is trimmed to 4 KiB');
is(psql("SELECT count(*) FROM log_lines WHERE deployment_id = $d2"), 0,
   '  the oldest lines went first');
is(psql("SELECT max(id) FROM log_lines WHERE project_id = $pid"), $max_id,
   '  the newest line stays');
cmp_ok(psql("SELECT sum(octet_length(line)) FROM log_lines"
            . " WHERE project_id = $pid"), '>', 4096 - 300,
       '  no more than needed went');
$res = $s->api(GET => "/api/v1/deployments/$d3/logs?limit=1000", $u);
is($res->{json}{data}[-1]{id}, $max_id, '  the history reads what is left');
ok((grep { $_->{line} eq 'last line omega' } @{ $res->{json}{data} }),
   '  the last lines of the build among them');

unlike($s->logs, qr/\Q$secret\E/, 'the secret is in no log file');

done_testing;
