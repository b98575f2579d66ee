# Static sites end to end, driven by `shipoffd build ID` (the daemon is
# stopped, so nothing else claims the deployments): a file:// repository
# is cloned at the deployment's commit, built in the sandbox, published
# under var/sites, routed on the edge and promoted; the site answers on
# <name>.localhost with the static module's headers, and the logs are in
# PostgreSQL (masked) and in Redis.  Failures keep the previous version
# serving: a build that exits 1, one that runs past build_timeout (no
# process survives), one that runs out of memory, one that tries to read
# the secrets or write outside its dir, and a SIGTERM (canceled).  Old
# artifacts beyond keep_artifacts go; the route snapshot is written.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep time);
use ShipoffTest qw(stack_up run tempdir top_dir json_decode in_chroot);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
use ShipoffNginx qw(request);

plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-test-$$";
my $s = stack_up(env => { SHIPOFF_BUILD_TIMEOUT => '8',
                          SHIPOFF_SANDBOX_MEMORY => '96m',
                          SHIPOFF_KEEP_ARTIFACTS => '2',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent });
$s->stop('shipoffd');

my $var = $s->var;
my $port = $s->port('http');
my $top = top_dir();
# SHIPOFFD: another build of shipoffd to drive (a sanitizer build)
my $shipoffd = $ENV{SHIPOFFD} // "$top/builder/shipoffd";

END {
    rmdir "/sys/fs/cgroup/$_/$cg_parent" for qw(memory pids cpu freezer);
}

sub psql { $s->psql($_[0]) }

sub redis { $s->redis(@_) }

# the repository: the plain fixture on branch main; commit() writes
# build.sh (when given) and commits, answering the commit id
my $repo = tempdir() . '/plain';
run('mkdir', '-p', $repo);
run('cp', '-a', "$top/tests/fixtures/sites/plain/.", $repo);
sub git {
    my ($rc, $out) = run('git', '-C', $repo, '-c', 'user.name=t',
                         '-c', 'user.email=t@e', @_);
    die "git @_: $out" if $rc;
    chomp $out;
    return $out;
}
git('init', '-q', '-b', 'main');

sub commit {
    my ($msg, $script) = @_;
    if (defined $script) {
        open my $fh, '>', "$repo/build.sh" or die "build.sh: $!";
        print $fh $script;
        close $fh;
    }
    git('add', '-A');
    git('commit', '-q', '--allow-empty', '-m', $msg);
    return git('rev-parse', 'HEAD');
}

my $u = $s->signup;
my $name = "plain$$";
my $host = "$name.localhost";

my $res = $s->api(POST => '/api/v1/projects', $u,
                  { name => $name, repo_url => "file://$repo",
                    kind => 'static', build_cmd => 'sh build.sh',
                    output_dir => 'public' });
is($res->{status}, 201, 'a project') or diag($res->{content});
my $pid = $res->{json}{id};

# a build variable the build prints, and a secret it must never see (the
# fixture's build.sh prints the secret's value itself: masked)
for my $env ([ GREETING => { value => 'hello-from-env', target => 'build' } ],
             [ TOKEN => { value => 's3cr3t-token-value', secret => JSON::PP::true() } ])
{
    $res = $s->api(PUT => "/api/v1/projects/$pid/env/$env->[0]", $u,
                   $env->[1]);
    ok($res->{status} == 201 || $res->{status} == 200, "env $env->[0]")
        or diag($res->{content});
}

# deploy(COMMIT): POST a deployment, build it in the foreground; answers
# (id, exit code, output)
sub deploy {
    my ($sha) = @_;
    my $r = $s->api(POST => "/api/v1/projects/$pid/deployments", $u,
                    $sha ? { commit => $sha } : {});
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    my $id = $r->{json}{id};
    local %ENV = (%ENV, %{ $s->{env} });
    my ($rc, $out) = run($shipoffd, '-c', $s->conf, 'build',
                         $id);
    return ($id, $rc, $out);
}

sub row {
    my ($id) = @_;
    my @f = split /\|/, psql("SELECT state, coalesce(reason, ''),"
        . " coalesce(exit_code::text, ''), coalesce(artifact_path, ''),"
        . " coalesce(commit_sha, ''), coalesce(kind, ''),"
        . " (started_at IS NOT NULL)::text, (finished_at IS NOT NULL)::text"
        . " FROM deployments WHERE id = $id"), -1;
    my %r;
    @r{qw(state reason exit_code artifact commit kind started finished)} = @f;
    return \%r;
}

sub log_text { $s->log_text(@_) }

sub get {
    my ($path, %h) = @_;
    return request($port, 'GET', $path,
                   headers => { Host => $host, %h });
}

sub no_leftovers {
    my ($id, $label) = @_;
    ok(!-e "$var/builds/$id", "$label: build dir removed");
    ok(!-e "/sys/fs/cgroup/memory/$cg_parent/build-$id",
       "$label: no cgroup left");
}

# --- the first deploy: PRODUCTION, served ---------------------------------

my $sha1 = commit('the plain site');
my ($id1, $rc, $out) = deploy($sha1);
is($rc, 0, 'deploy 1: shipoffd build exits 0') or diag($out);
my $r = row($id1);
is($r->{state}, 'PRODUCTION', 'deploy 1: PRODUCTION') or diag(log_text($id1));
is($r->{reason}, 'deployed', '  reason deployed');
is($r->{exit_code}, '0', '  exit code 0');
is($r->{commit}, $sha1, '  at the commit asked for');
is($r->{kind}, 'static', '  kind static');
is($r->{started} . $r->{finished}, 'truetrue', '  started_at, finished_at');
is($r->{artifact}, "$var/sites/$pid/$id1", '  artifact under var/sites');
is(psql("SELECT string_agg(coalesce(from_state, '-') || '>' || to_state"
        . " || ':' || coalesce(reason, ''), ' ' ORDER BY id)"
        . " FROM deployment_events WHERE deployment_id = $id1"),
   '->QUEUED:manual QUEUED>BUILDING:building BUILDING>PROVISIONING:built'
   . ' PROVISIONING>PRODUCTION:deployed', '  every transition recorded');
no_leftovers($id1, '  deploy 1');

my $log = log_text($id1);
like($log, qr/^system: cloning file:\/\//m, '  log: cloning (system)');
like($log, qr/^system: detected static/m, '  log: detected');
like($log, qr/^stdout: building the plain site$/m, '  log: build output');
like($log, qr/^stdout: greeting: hello-from-env$/m,
     '  log: the build sees its build variables');
like($log, qr/^stderr: the token is \*\*\*\*$/m, '  log: the secret masked');
unlike($log, qr/s3cr3t-token-value/, '  the secret is nowhere in the log');
like($log, qr/^system: build finished in [\d.]+ s$/m, '  log: build time');
is(psql("SELECT count(*) FROM log_lines WHERE deployment_id = $id1"
        . " AND tsv @@ to_tsquery('simple', 'greeting')"), 1,
   '  log lines are searchable');
cmp_ok(redis('XLEN', "logs:$id1"), '>=', 5, '  Redis stream logs:<id>');
like(redis('XREVRANGE', "logs:$id1", '+', '-', 'COUNT', 1),
     qr/event\nend\nstate\nPRODUCTION/, '  the stream ends with the state');

my $art = "$var/sites/$pid/$id1";
ok(-f "$art/index.html" && -f "$art/about/index.html", '  artifact files');
ok(-f "$art/index.html.gz", '  index.html precompressed (>= 1 KiB)');
ok(!-e "$art/about/index.html.gz", '  small files are not');
ok(-f "$art/_redirects" && -f "$art/_headers", '  _redirects, _headers kept');
ok(!-e "$art/.git" && !-e "$art/build.sh", '  only the output dir');

for my $c (
    [ '/', 200, qr/Hello from the plain site/,
      { 'cache-control' => 'no-cache', 'x-frame-options' => 'DENY' } ],
    [ '/about', 200, qr/About the plain site/, {} ],
    [ '/old-about', 301, undef, { location => '/about' } ],
    [ '/nope', 404, qr/Plain site: no such page/, {} ],
    [ '/_redirects', 404, undef, {} ],
) {
    my ($path, $status, $body, $headers) = @$c;
    my $a = get($path);
    is($a->{status}, $status, "GET $host$path: $status")
        or diag($a->{content});
    like($a->{content}, $body, '  body') if $body;
    for my $h (sort keys %$headers) {
        like($a->{headers}{$h} // '', qr/\Q$headers->{$h}\E/,
             "  $h: $headers->{$h}");
    }
}

my $gz = get('/css/site.css', 'Accept-Encoding' => 'gzip');
is($gz->{headers}{'content-encoding'}, 'gzip', 'the .gz variant is served');

my $none = request($port, 'GET', '/',
                   headers => { Host => "nothing$$.localhost" });
is($none->{status}, 404, 'an unknown app: 404');
like($none->{content}, qr/"not_found"/, '  as JSON');

my $snap = eval {
    open my $fh, '<', "$var/routes.json" or die $!;
    local $/;
    json_decode(<$fh>);
};
ok($snap, 'routes.json parses') or diag($@);
is($snap->{routes}{$host}{root}, $art, '  it routes the app to deploy 1');
is($snap->{routes}{$host}{deployment}, $id1, '  deployment id');
ok($snap->{generation} > 0, '  with a generation');

# --- failures: the first deploy keeps serving -----------------------------

sub still_serving {
    my ($label) = @_;
    is(row($id1)->{state}, 'PRODUCTION', "$label: deploy 1 still PRODUCTION");
    like(get('/')->{content}, qr/Hello from the plain site/,
         "$label: deploy 1 still served");
}

my $secrets = "$var/secrets";
for my $c (
    [ 'exit 1', "echo 'about to fail' >&2\nexit 1\n",
      'build_failed: exit 1', qr/^stderr: about to fail$/m ],
    # the sleeps carry this test's pid: the ps below must find no process
    # of this build, whatever other tests run meanwhile
    [ 'timeout', "echo sleeping\nsleep 300.$$ &\nsleep 300.$$\n",
      'build_timeout', qr/^system: the build ran over 8 s/m ],
    [ 'oom', "python3 -c \"x = b'x' * (400 << 20); print(len(x))\"\n",
      'oom', qr/^system: the build ran out of memory/m ],
    [ 'escape', "cat '$secrets' && echo LEAKED\n"
               . "echo x > '$var/escape' && echo WROTE\n"
               . "echo x > /etc/shipoff-escape && echo WROTE-ETC\n"
               . "ls '$var/sites' && echo LISTED\n"
               . "exit 3\n",
      'build_failed: exit 3', qr/^stderr: cat: .*secrets.*No such file/m ],
) {
    my ($label, $script, $reason, $log_like) = @$c;
    my $sha = commit($label, $script);
    my $t0 = time;
    my ($id, $rc2, $out2) = deploy($sha);
    my $took = time - $t0;
    is($rc2, 1, "$label: shipoffd build exits 1") or diag($out2);
    my $row = row($id);
    is($row->{state}, 'FAILED', "$label: FAILED");
    is($row->{reason}, $reason, "  reason $reason") or diag(log_text($id));
    is($row->{artifact}, '', '  no artifact');
    like(log_text($id), $log_like, '  the log says why');
    like(redis('XREVRANGE', "logs:$id", '+', '-', 'COUNT', 1),
         qr/state\nFAILED/, '  the stream ends FAILED');
    no_leftovers($id, "  $label");
    still_serving("  $label");

    if ($label eq 'timeout') {
        cmp_ok($took, '<', 25, '  stopped at the deadline');
        my (undef, $ps) = run('ps', '-eo', 'args');
        my $marker = "sleep 300.$$";
        unlike($ps, qr/^\Q$marker\E$/m, '  no process of the build survives');
    }
    if ($label eq 'escape') {
        my $l = log_text($id);
        # var/ is an empty, private tmpfs in the sandbox: a write there
        # succeeds and vanishes with it
        unlike($l, qr/LEAKED|WROTE-ETC|LISTED/,
               '  nothing outside was reached');
        ok(!-e "$var/escape" && !-e '/etc/shipoff-escape',
           '  no file written outside');
        unlink '/etc/shipoff-escape';
    }
}

# --- SIGTERM while building: CANCELED --------------------------------------

{
    my $sha = commit('slow', "echo slow\nsleep 300\n");
    my $r2 = $s->api(POST => "/api/v1/projects/$pid/deployments", $u,
                     { commit => $sha });
    my $id = $r2->{json}{id};
    my $child = fork // die "fork: $!";
    if (!$child) {
        %ENV = (%ENV, %{ $s->{env} });
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec($shipoffd, '-c', $s->conf, 'build', $id)
            or POSIX::_exit(127);
    }
    for (1 .. 100) {
        last if psql("SELECT count(*) FROM log_lines WHERE deployment_id"
                     . " = $id AND line = 'slow'");
        sleep 0.1;
    }
    kill 'TERM', $child;
    waitpid($child, 0);
    is($? >> 8, 3, 'SIGTERM: shipoffd build exits 3 (canceled)');
    my $row = row($id);
    is($row->{state} . ' ' . $row->{reason}, 'CANCELED canceled',
       '  CANCELED, reason canceled');
    no_leftovers($id, '  canceled');
    still_serving('  canceled');
}

# --- more deploys: the old one is INACTIVE, old artifacts pruned ----------

my $sha2 = commit('the plain site again', <<'EOF');
set -e
rm -rf public
cp -r site public
echo second > public/second.txt
EOF
# what a killed attempt would leave (the loop SIGKILLs a worker that
# ignores SIGTERM): a cgroup and a build dir of the same deployment id
my $next = psql("SELECT max(id) + 1 FROM deployments");
run('mkdir', '-p', "/sys/fs/cgroup/$_/$cg_parent/build-$next")
    for qw(memory pids cpu);
run('mkdir', '-p', "$var/builds/$next/src/stale");
my ($id2, $rc2, $out2) = deploy($sha2);
is($id2, $next, 'deploy 2 finds the leftovers of a killed attempt');
is($rc2, 0, '  and builds anyway') or diag($out2);
no_leftovers($id2, '  deploy 2');
is(row($id2)->{state}, 'PRODUCTION', 'deploy 2: PRODUCTION');
is(row($id1)->{state} . ' ' . row($id1)->{reason}, 'INACTIVE superseded',
   '  deploy 1 INACTIVE, superseded');
ok(-d $art, '  deploy 1 artifact kept (keep_artifacts 2)');
is(get('/second.txt')->{content}, "second\n", '  deploy 2 served');

# no commit: the branch head, recorded
my ($id3) = deploy(undef);
$r = row($id3);
is($r->{state}, 'PRODUCTION', 'deploy 3 (branch head): PRODUCTION');
is($r->{commit}, $sha2, '  the head commit recorded');
is(row($id1)->{artifact}, '', '  deploy 1 artifact dropped (keep 2)');
ok(!-e $art, '  its directory removed');
ok(-d "$var/sites/$pid/$id2", '  deploy 2 artifact kept');

# --- projects that cannot deploy ------------------------------------------

for my $c (
    [ 'clone_failed', { repo_url => "file://$repo-missing" }, 'clone_failed',
      qr/^system: clone failed: /m ],
) {
    my ($label, $body, $reason, $log_like) = @$c;
    my $p = $s->api(POST => '/api/v1/projects', $u,
                    { name => "$label$$" =~ s/_/-/gr, %$body });
    is($p->{status}, 201, "$label: a project") or diag($p->{content});
    my $d = $s->api(POST => "/api/v1/projects/$p->{json}{id}/deployments",
                    $u, {});
    local %ENV = (%ENV, %{ $s->{env} });
    my ($rc3, $out3) = run($shipoffd, '-c', $s->conf,
                           'build', $d->{json}{id});
    is($rc3, 1, "$label: shipoffd build exits 1") or diag($out3);
    my $row = row($d->{json}{id});
    is("$row->{state} $row->{reason}", "FAILED $reason",
       "$label: FAILED $reason");
    like(log_text($d->{json}{id}), $log_like, '  the log says why');
    no_leftovers($d->{json}{id}, "  $label");
}

# a dynamic app is built, published whole under var/apps and left
# PROVISIONING for the daemon's supervisor to start (85-dynamic.t)
{
    my $p = $s->api(POST => '/api/v1/projects', $u,
                    { name => "dynamic$$", repo_url => "file://$repo",
                      kind => 'dynamic', run_cmd => 'python3 -m http.server' });
    is($p->{status}, 201, 'dynamic: a project') or diag($p->{content});
    my $d = $s->api(POST => "/api/v1/projects/$p->{json}{id}/deployments",
                    $u, {});
    my $id = $d->{json}{id};
    local %ENV = (%ENV, %{ $s->{env} });
    my ($rc3, $out3) = run($shipoffd, '-c', $s->conf, 'build', $id);
    is($rc3, 4, 'dynamic: shipoffd build exits 4 (handed over)') or diag($out3);
    my $row = row($id);
    is("$row->{state} $row->{reason} $row->{kind}", 'PROVISIONING built dynamic',
       'dynamic: PROVISIONING, built');
    is($row->{artifact}, "$var/apps/$p->{json}{id}/$id",
       '  the whole tree published under var/apps');
    ok(-e "$row->{artifact}/build.sh", '  with its files');
    is((stat $row->{artifact})[4],
       2000000000 + psql("SELECT sandbox_slot FROM projects"
                         . " WHERE id = $p->{json}{id}"),
       "  owned by the project's sandbox uid");
    is(psql("SELECT run_cmd FROM deployments WHERE id = $id"),
       'python3 -m http.server', '  its run command recorded');
    is(psql("SELECT lease_owner IS NULL FROM deployments WHERE id = $id"),
       't', '  no lease left: the daemon takes it over');
    like(log_text($id), qr/^system: built in .* starting the app/m,
         '  the log says what comes next');
    no_leftovers($id, '  dynamic');
}

# a deployment that is not QUEUED is not built twice
($rc, $out) = run($shipoffd, '-c', $s->conf, 'build', $id1);
is($rc, 1, 'build of a deployment that is not QUEUED: exits 1');
like($out, qr/not QUEUED/, '  and says so');

done_testing;
