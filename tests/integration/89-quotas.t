# Per-account quotas on a stack with tiny limits: each one is hit and
# answered as docs/API.md and docs/OPERATIONS.md say.
#
#   projects          the third project of a user is 422 quota_exceeded
#                     (quota, limit, usage in the body); a team is an
#                     account of its own
#   builds_active     ten parallel deploys with a limit of two: two are
#                     queued, eight are 429 quota_exceeded, never more; a
#                     GitHub push meanwhile is recorded as ignored
#   log bytes         a build that prints far more than its deployment's
#                     cap goes on to PRODUCTION; its log is cut with one
#                     "log limit reached" line
#   disk_bytes        an artifact bigger than the account's disk fails its
#                     deployment "quota_exceeded: disk", with a log line,
#                     and leaves no artifact behind
#   apps_running      with one app allowed, a second project's app is not
#                     started (FAILED "quota_exceeded: apps"); the first
#                     project replacing its own app is fine
#   deployments_kept  shipoffd deletes the account's oldest CANCELED,
#                     INACTIVE and FAILED deployments beyond the limit,
#                     with their artifacts; PRODUCTION stays
#   GET /api/v1/quotas  every limit and the usage

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use POSIX ();
use Time::HiRes qw(sleep);
use ShipoffTest qw(stack_up run tempdir top_dir in_chroot wait_for
                   error_is);

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-t89-$$";
my $s = stack_up(env => { SHIPOFF_QUOTA_PROJECTS            => '2',
                          SHIPOFF_QUOTA_BUILDS_ACTIVE       => '2',
                          SHIPOFF_QUOTA_DEPLOYMENTS_KEPT    => '0',
                          SHIPOFF_QUOTA_DISK_BYTES          => '256k',
                          SHIPOFF_QUOTA_LOG_BYTES_PER_DEPLOYMENT => '8k',
                          SHIPOFF_QUOTA_APPS_RUNNING        => '1',
                          SHIPOFF_RECONCILE_INTERVAL        => '1s',
                          SHIPOFF_STARTUP_TIMEOUT           => '20s',
                          SHIPOFF_APP_DRAIN                 => '1s',
                          SHIPOFF_APP_STOP_GRACE            => '1s',
                          SHIPOFF_FCGI_THREADS              => '8',
                          SHIPOFF_AUTH_RATE                 => '1000r/s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT     => $cg_parent });
$s->stop('shipoffd');

my $top = top_dir();
my $var = $s->var;
my $shipoffd = $ENV{SHIPOFFD} // "$top/builder/shipoffd";

sub psql { $s->psql($_[0]) }
sub state_of { psql("SELECT state || ' ' || coalesce(reason, '')"
                    . " FROM deployments WHERE id = $_[0]") }

# a file:// repository whose build.sh each commit rewrites
my $repo = tempdir() . '/repo';
run('mkdir', '-p', $repo);
sub git {
    my ($rc, $out) = run('git', '-C', $repo, '-c', 'user.name=t',
                         '-c', 'user.email=t@e', @_);
    die "git @_: $out" if $rc;
    chomp $out;
    return $out;
}
sub commit {
    my ($script) = @_;
    open my $fh, '>', "$repo/build.sh" or die "build.sh: $!";
    print $fh $script;
    close $fh;
    git('add', '-A');
    git('commit', '-q', '-m', 'build');
    return git('rev-parse', 'HEAD');
}
git('init', '-q', '-b', 'main');
commit("mkdir -p public && echo hello > public/index.html\n");

my $u = $s->signup;

sub project {
    my ($who, $name, %more) = @_;
    my %body = (name => $name, repo_url => "file://$repo", kind => 'static',
                build_cmd => 'sh build.sh', output_dir => 'public', %more);
    delete @body{ grep { !defined $body{$_} } keys %body };
    return $s->api(POST => '/api/v1/projects', $who, \%body);
}

# ---- projects: the account's third is refused, a team counts apart

my $res = project($u, "qa$$");
is($res->{status}, 201, 'first project') or diag($res->{content});
my $pa = $res->{json}{id};
# a project of the repository the GitHub fixture pushes to
$res = project($u, "qb$$",
               repo_url => 'https://github.com/Codertocat/Hello-World.git');
is($res->{status}, 201, 'second project') or diag($res->{content});
my $pb = $res->{json};

$res = project($u, "qc$$");
error_is($res, 422, 'quota_exceeded', 'third project of a user');
is($res->{json}{error}{quota}, 'projects', '... names the quota');
is($res->{json}{error}{limit}, 2, '... its limit');
is($res->{json}{error}{usage}, 2, '... and the usage');
is(psql("SELECT count(*) FROM projects WHERE name = 'qc$$'"), 0,
   '... and creates nothing');

$res = $s->api(POST => '/api/v1/teams', $u, { name => 'quota team' });
is($res->{status}, 201, 'a team') or diag($res->{content});
my $team = $res->{json}{id};

my @team_projects;
for my $n (1, 2) {
    $res = project($u, "qt$n-$$", team_id => $team, kind => 'dynamic',
                   build_cmd => undef, output_dir => undef,
                   run_cmd => 'exec python3 -m http.server "$PORT"'
                              . ' --bind "$HOST"');
    is($res->{status}, 201, "team project $n: the team is its own account")
        or diag($res->{content});
    push @team_projects, $res->{json}{id};
}
error_is(project($u, "qt3-$$", team_id => $team), 422, 'quota_exceeded',
         "the team's third project");

# ---- GET /api/v1/quotas

$res = $s->api(GET => '/api/v1/quotas', $u);
is($res->{status}, 200, 'GET /api/v1/quotas') or diag($res->{content});
is_deeply($res->{json}{quotas}{projects}, { limit => 2, usage => 2 },
          '... projects: limit and usage');
is($res->{json}{quotas}{builds_active}{limit}, 2, '... builds_active');
is($res->{json}{quotas}{disk_bytes}{limit}, 256 * 1024, '... disk_bytes');
is($res->{json}{quotas}{deployments_kept}{limit}, undef,
   '... deployments_kept 0: unlimited (null)');
is($res->{json}{quotas}{log_bytes_per_deployment}{limit}, 8192,
   '... log_bytes_per_deployment');
$res = $s->api(GET => "/api/v1/quotas?team_id=$team", $u);
is($res->{json}{account}{team_id}, $team, "... a team's");
is($res->{json}{quotas}{projects}{usage}, 2, "... the team's usage");
my $other = $s->signup;
error_is($s->api(GET => "/api/v1/quotas?team_id=$team", $other), 404,
         'not_found', "another user's team");

# ---- builds_active: concurrent enqueues never pass the limit

my %pids;
for my $i (1 .. 10) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $r = $s->api(POST => "/api/v1/projects/$pa/deployments", $u, {});
        my $ok = $r->{status} == 202 ? 0
               : ($r->{status} == 429
                  && ($r->{json}{error}{code} // '') eq 'quota_exceeded'
                  && ($r->{json}{error}{quota} // '') eq 'builds_active'
                  && ($r->{json}{error}{limit} // 0) == 2) ? 1 : 2;
        POSIX::_exit($ok);
    }
    $pids{$pid} = 1;
}
my %answers;
for my $pid (keys %pids) {
    waitpid($pid, 0);
    $answers{$? >> 8}++;
}
is($answers{0}, 2, 'ten parallel deploys: two queued');
is($answers{1}, 8, '... eight refused 429 quota_exceeded builds_active');
is($answers{2}, undef, '... nothing else');
is(psql("SELECT count(*) FROM deployments WHERE project_id = $pa"
        . " AND state = 'QUEUED'"), 2, '... two QUEUED in the database');

$res = $s->api(POST => "/api/v1/projects/$pa/deployments", $u, {});
error_is($res, 429, 'quota_exceeded', 'one more deploy');
is($res->{json}{error}{usage}, 2, '... usage 2');

# a signed push while the account has its two builds: recorded, not queued
open my $fh, '<', "$top/tests/fixtures/github/push.json" or die $!;
my $push = do { local $/; <$fh> };
close $fh;
$res = ShipoffTest::http(POST => $s->url('/hooks/github'), $push,
    { 'X-GitHub-Event' => 'push',
      'X-GitHub-Delivery' => "72d3162e-cc78-11e3-81ab-$$",
      'Content-Type' => 'application/json',
      'X-Hub-Signature-256' => 'sha256='
          . hmac_sha256_hex($push, $pb->{webhook_secret}) });
is($res->{status}, 202, 'a GitHub push over builds_active: 202')
    or diag($res->{content});
like($res->{json}{ignored} // '', qr/^quota_exceeded: builds_active 2 of 2/,
     '... ignored for the quota');
is(psql("SELECT count(*) FROM deployments WHERE project_id = $pb->{id}"), 0,
   '... nothing queued');
like(psql("SELECT outcome FROM webhook_deliveries"
          . " WHERE project_id = $pb->{id}"), qr/quota_exceeded/,
     '... the delivery recorded with why');

my @canceled = split /\n/, psql("SELECT id FROM deployments"
                                . " WHERE project_id = $pa ORDER BY id");
for my $id (@canceled) {
    is($s->api(POST => "/api/v1/deployments/$id/cancel", $u)->{status}, 200,
       "deployment $id canceled");
}

# deploy(SCRIPT): commit it, deploy that commit in the foreground
sub deploy {
    my ($script) = @_;
    my $sha = commit($script);
    my $r = $s->api(POST => "/api/v1/projects/$pa/deployments", $u,
                    { commit => $sha });
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    local %ENV = (%ENV, %{ $s->{env} });
    run($shipoffd, '-c', $s->conf, 'build', $r->{json}{id});
    return $r->{json}{id};
}

# ---- log bytes per deployment: cut with one marker, the build goes on

my $loud = deploy(<<'SH');
mkdir -p public && echo loud > public/index.html
i=0
while [ $i -lt 3000 ]; do
    echo "line $i of a build that prints much more than its quota allows"
    i=$((i + 1))
done
SH
is(state_of($loud), 'PRODUCTION deployed',
   'a build printing 200 KB with an 8 KB log cap: deployed');
my $log = $s->log_text($loud);
my @markers = $log =~ /log limit reached/g;
is(scalar @markers, 1, '... its log has one "log limit reached" line');
ok(psql("SELECT sum(octet_length(line)) FROM log_lines"
        . " WHERE deployment_id = $loud AND stream <> 'system'") <= 8192,
   '... and at most 8 KB of build output');
unlike($log, qr/line 2999 /, '... the later lines dropped');
like($log, qr/deployed in/, "... shipoffd's own last lines are kept");

# ---- disk: an artifact over the account's disk fails its deployment

my $big = deploy(<<'SH');
mkdir -p public && echo big > public/index.html
head -c 400000 /dev/urandom > public/big.bin
SH
is(state_of($big), 'FAILED quota_exceeded: disk',
   'a 400 KB artifact with 256 KB of disk: FAILED quota_exceeded: disk');
like($s->log_text($big), qr/over quota_disk_bytes/,
     '... the build log says why');
ok(!-e "$var/sites/$pa/$big", '... its artifact is gone');
is(psql("SELECT coalesce(artifact_path, '') FROM deployments"
        . " WHERE id = $big"), '', '... and not recorded');
like(psql("SELECT artifact_bytes FROM deployments WHERE id = $big"),
     qr/^\d{6}$/, '... its size is recorded');

my $small = deploy("mkdir -p public && echo small > public/index.html\n");
is(state_of($small), 'PRODUCTION deployed', 'a small one still deploys');
ok(psql("SELECT artifact_bytes FROM deployments WHERE id = $small") > 0,
   '... its size recorded');

# ---- apps_running: one app per account at a time

$s->start('shipoffd');

sub deploy_app {
    my ($project) = @_;
    my $r = $s->api(POST => "/api/v1/projects/$project/deployments", $u, {});
    die "deploy: $r->{status} $r->{content}" unless $r->{status} == 202;
    my $id = $r->{json}{id};
    my $st;
    wait_for(90, sub { $st = state_of($id);
                       $st =~ /^(PRODUCTION|FAILED|CANCELED)/ });
    return ($id, $st);
}

my ($app1, $st1) = deploy_app($team_projects[0]);
is($st1, 'PRODUCTION deployed', "the team's first app runs");
my ($app2, $st2) = deploy_app($team_projects[1]);
is($st2, 'FAILED quota_exceeded: apps',
   "the team's second app with quota_apps_running 1: FAILED");
ok(wait_for(10, sub { $s->log_text($app2) =~ /the app is not started/ }),
   '... its log says why');
my ($app1b, $st1b) = deploy_app($team_projects[0]);
is($st1b, 'PRODUCTION deployed',
   '... the first project replacing its own app is not refused');

# ---- deployments_kept: the oldest prunable go, PRODUCTION stays

$s->stop('shipoffd');
$s->{env}{SHIPOFF_QUOTA_DEPLOYMENTS_KEPT} = '2';
$s->start('shipoffd');

my $user_deps = "SELECT string_agg(id::text, ',' ORDER BY id)"
              . " FROM deployments WHERE project_id = $pa";
ok(wait_for(20, sub { psql($user_deps) eq "$big,$small" }),
   'with 2 kept: the two canceled and the older deployed one are deleted')
    or diag(psql($user_deps));
ok(!-e "$var/sites/$pa/$loud", '... with its artifact');
is(state_of($small), 'PRODUCTION deployed', '... PRODUCTION stays');
ok(wait_for(20, sub { psql("SELECT count(*) FROM deployments d"
                           . " JOIN projects p ON p.id = d.project_id"
                           . " WHERE p.owner_team_id = $team") == 2 }),
   "... the team's deployments too");
is(state_of($app1b), 'PRODUCTION deployed', "... the team's PRODUCTION stays");

done_testing();
