# Private repositories over real HTTP (ShipoffGit, basic auth): shipoffd
# clones with the GitHub access token of the project's owner, kept sealed
# since they signed in with GitHub (through FakeProvider).  A project of
# that user deploys; so does a team's project (the team's owner's token);
# a user who never signed in with GitHub gets FAILED clone_failed with
# libgit2's reason in the log; the token goes to the GitHub host only (the
# same repository named by another host name is cloned without it).  The
# token is in no log file of the stack and in no log line.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Time::HiRes qw(sleep time);
use ShipoffTest qw(stack_up http in_chroot);
use ShipoffNginx qw(request);
use ShipoffGit;
use FakeProvider;

plan skip_all => "in a chroot (fresh-machine-check): the kernel refuses the sandbox its namespaces"
    if in_chroot();
plan skip_all => 'needs root (cgroups and a sandbox uid)' if $> != 0;
plan skip_all => 'needs bubblewrap' unless -x '/usr/bin/bwrap';

my $cg_parent = "shipoff-t88-$$";
my $token = 'gho_' . join '', map { sprintf '%02x', int rand 256 } 1 .. 18;
my $fp = FakeProvider->start;
my $g = ShipoffGit->start(auth => { user => 'x-access-token',
                                    password => $token });
my $s = stack_up(env => { $fp->env, SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_SANDBOX_CGROUP_PARENT => $cg_parent });

END {
    rmdir "/sys/fs/cgroup/$_/$cg_parent" for qw(memory pids cpu freezer);
}

my $url = $g->repo('site', 'tests/fixtures/sites/plain', private => 1);
my $sha = $g->commit('site', {}, 'the private site');

sub psql { $s->psql($_[0]) }

# signs in with GitHub (FakeProvider approves); our answer {user, tokens}
sub github_login {
    my ($id, $login, %args) = @_;
    my $res = http(GET => $s->url('/auth/v1/oauth/github/start'));
    my ($q) = ($res->{headers}{location} // '') =~ /\?(.*)$/;
    my %q = map { my ($k, $v) = split /=/, $_, 2;
                  $v =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; ($k, $v) }
            split /&/, $q // '';
    my $code = $fp->code(provider => 'github',
        redirect_uri => $q{redirect_uri},
        user => { id => $id, login => $login, name => $login },
        emails => [{ email => "$login-$$\@example.com",
                     primary => JSON::PP::true(),
                     verified => JSON::PP::true() }],
        %args);
    $res = http(GET => $s->url("/auth/v1/oauth/github/callback?code=$code"
                               . "&state=$q{state}"));
    die "github login: $res->{status} $res->{content}"
        unless $res->{status} == 200;
    return $res->{json};
}

sub project {
    my ($who, $name, $repo, %more) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $who,
                      { name => "$name$$", repo_url => $repo, kind => 'static',
                        build_cmd => 'sh build.sh', output_dir => 'public',
                        %more });
    die "project $name: $res->{status} $res->{content}"
        unless $res->{status} == 201;
    return $res->{json}{id};
}

# a deployment of the commit, built by the running shipoffd: its final
# state and reason
sub deploy {
    my ($who, $pid) = @_;
    my $res = $s->api(POST => "/api/v1/projects/$pid/deployments", $who,
                      { commit => $sha });
    die "deploy: $res->{status} $res->{content}" unless $res->{status} == 202;
    my $id = $res->{json}{id};
    my $end = time + 60;
    my $st = '';
    until ($st =~ /^(PRODUCTION|INACTIVE|FAILED|CANCELED)\b/ || time > $end) {
        sleep 0.2;
        $st = psql("SELECT state || ' ' || coalesce(reason, '')"
                   . " FROM deployments WHERE id = $id");
    }
    return ($id, $st);
}

sub log_text { $s->log_text(@_) }

sub served {
    my ($name) = @_;
    return request($s->port('http'), 'GET', '/',
                   headers => { Host => "$name$$.localhost" })->{content};
}

# how many requests the git server saw from the token's user
sub authed_requests {
    my $n = () = $g->logs =~ /^\S+ - x-access-token \[/mg;
    return $n;
}

my $ann = github_login(8101, 'ann', access_token => $token);
my $bob = $s->signup;

# ---- the owner signed in with GitHub: the clone carries the token

my $before = authed_requests();
my $mine = project($ann, 'mine', $url);
my ($id, $st) = deploy($ann, $mine);
is($st, 'PRODUCTION deployed', "the GitHub user's project deploys")
    or diag(log_text($id), $g->logs);
like(served('mine'), qr/Hello from the plain site/, '  and is served');
cmp_ok(authed_requests(), '>', $before,
       '  the git server saw the token (basic auth, x-access-token)');
like($s->logs, qr/project=$mine: cloning 127\.0\.0\.1 with the GitHub token of user=$ann->{user}{id}/,
     '  shipoffd says whose token it used (not the token)');

# ---- no GitHub identity: no token, libgit2's reason in the log

my $theirs = project($bob, 'theirs', $url);
($id, $st) = deploy($bob, $theirs);
is($st, 'FAILED clone_failed', 'a user without GitHub: FAILED clone_failed');
like(log_text($id), qr/^stderr: clone: clone failed: .*(authentication|401)/mi,
     "  libgit2's message in the log") or diag(log_text($id));

# ---- a team's project: the team's owner's token

my $res = $s->api(POST => '/api/v1/teams', $ann, { name => 'Private' });
my $tid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/teams/$tid/invitations", $ann,
               { email => $bob->{user}{email}, role => 'member' });
$res = $s->api(POST => "/api/v1/invitations/$res->{json}{id}/accept", $bob);
is($res->{status}, 200, 'bob joins the team of ann') or diag($res->{content});
my $team = project($bob, 'team', $url, team_id => $tid);
($id, $st) = deploy($bob, $team);
is($st, 'PRODUCTION deployed',
   "a team's project, deployed by a member: the team owner's token")
    or diag(log_text($id));
like(served('team'), qr/Hello from the plain site/, '  and is served');

# ---- the token goes to the GitHub host only (127.0.0.1 here, where
# FakeProvider answers): the same server named "localhost" gets none

(my $other = $url) =~ s/127\.0\.0\.1/localhost/;
my $elsewhere = project($ann, 'elsewhere', $other);
$before = authed_requests();
($id, $st) = deploy($ann, $elsewhere);
is($st, 'FAILED clone_failed', 'another host: no token, clone_failed')
    or diag(log_text($id));
is(authed_requests(), $before, '  the git server saw no credentials');

# ---- the token is nowhere in the logs

unlike($s->logs, qr/\Q$token\E/, 'the token is in no log file of the stack');
is(psql("SELECT count(*) FROM log_lines WHERE line LIKE '%$token%'"), 0,
   'nor in any log line');
unlike(join("\n", map { $s->redis('XRANGE', "logs:$_", '-', '+') }
                  split /\n/, psql("SELECT id FROM deployments")),
       qr/\Q$token\E/, 'nor in the Redis log streams');

done_testing;
