# Private repositories over real HTTP (ShipoffGit, basic auth): shipoffd
# clones with the GitHub access token of the project's owner, kept sealed
# since they signed in with GitHub (through FakeProvider), when the owner
# set the repository.  A project of that user deploys; so does a team's
# project the team's owner set up, not one a member made or changed; a
# project pushed onto a GitHub user and pointed at their private
# repository by a member never carries their token; a user who never
# signed in with GitHub gets FAILED clone_failed with libgit2's reason in
# the log; the token goes to the GitHub host only (the same repository
# named by another host name is cloned without it).  The token is in no
# log file of the stack and in no log line.

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
    my $res = $fp->login($s, 'github',
        user => { id => $id, login => $login, name => $login },
        emails => [{ email => "$login-$$\@example.com",
                     primary => JSON::PP::true(),
                     verified => JSON::PP::true() }],
        %args);
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

# ---- a team's project: the team's owner's token, for what the owner set

my $res = $s->api(POST => '/api/v1/teams', $ann, { name => 'Private' });
my $tid = $res->{json}{id};
$res = $s->api(POST => "/api/v1/teams/$tid/invitations", $ann,
               { email => $bob->{user}{email}, role => 'member' });
# invitations reach verified addresses only: the mail issue will verify
# bob's; here the database does
psql("UPDATE users SET email_verified = true WHERE id = $bob->{user}{id}");
$res = $s->api(POST => "/api/v1/invitations/$res->{json}{id}/accept", $bob);
is($res->{status}, 200, 'bob joins the team of ann') or diag($res->{content});

$before = authed_requests();
my $team = project($bob, 'team', $url, team_id => $tid);
($id, $st) = deploy($bob, $team);
is($st, 'FAILED clone_failed',
   "a member's team project: not the team owner's token")
    or diag(log_text($id));
is(authed_requests(), $before, '  the git server saw no credentials');

my $owned = project($ann, 'owned', $url, team_id => $tid);
($id, $st) = deploy($bob, $owned);
is($st, 'PRODUCTION deployed',
   "the owner's team project, deployed by a member: the owner's token")
    or diag(log_text($id));
like(served('owned'), qr/Hello from the plain site/, '  and is served');

$res = $s->api(PATCH => "/api/v1/projects/$owned", $bob, { repo_url => $url });
is($res->{json}{repo_url_set_by}, $bob->{user}{id},
   'a member saves the same repo_url: now set by the member');
($id, $st) = deploy($bob, $owned);
is($st, 'FAILED clone_failed', '  and the owner\'s token is no longer used')
    or diag(log_text($id));
$s->api(PATCH => "/api/v1/projects/$owned", $ann, { repo_url => $url });
($id, $st) = deploy($bob, $owned);
is($st, 'PRODUCTION deployed', '  until the owner saves it again')
    or diag(log_text($id));

# ---- the attack of the review: A makes a project, grants A2 WRITE and
# pushes it onto V, who signed in with GitHub; A2 points it at V's
# private repository and deploys: V's code must not be cloned

my $victim = github_login(8102, 'vic', access_token => $token);
my ($attacker, $helper) = ($s->signup, $s->signup);
my $pub = $g->repo('pub', 'tests/fixtures/sites/plain');
my $bait = project($attacker, 'bait', $pub);
$res = $s->api(POST => "/api/v1/projects/$bait/members", $attacker,
               { user_id => $helper->{user}{id}, scopes => ['WRITE'] });
is($res->{status}, 200, 'A grants A2 WRITE') or diag($res->{content});
$res = $s->api(POST => "/api/v1/projects/$bait/transfer", $attacker,
               { user_id => $victim->{user}{id} });
is($res->{status}, 201, 'A offers the project to V') or diag($res->{content});
my $offer = $res->{json}{id};
is($s->api(GET => "/api/v1/projects/$bait", $attacker)->{json}{owner}{id},
   $attacker->{user}{id}, '  it stays A\'s until V accepts');

$res = $s->api(PATCH => "/api/v1/projects/$bait", $helper,
               { repo_url => $url });
is($res->{status}, 200, 'A2 points it at V\'s private repository');
$before = authed_requests();
($id, $st) = deploy($helper, $bait);
is($st, 'FAILED clone_failed', '  before V accepts: cloned without a token')
    or diag(log_text($id));

$res = $s->api(POST => "/api/v1/invitations/$offer/accept", $victim);
is($res->{status}, 200, 'V accepts the project') or diag($res->{content});
is($s->api(GET => "/api/v1/projects/$bait", $victim)->{json}{owner}{id},
   $victim->{user}{id}, '  V owns it now');
($id, $st) = deploy($helper, $bait);
is($st, 'FAILED clone_failed',
   '  the repository A2 set is still cloned without V\'s token')
    or diag(log_text($id));
$s->api(PATCH => "/api/v1/projects/$bait", $helper, { repo_url => $url });
($id, $st) = deploy($helper, $bait);
is($st, 'FAILED clone_failed', '  and set again by A2 after: still not')
    or diag(log_text($id));
is(authed_requests(), $before, '  the git server never saw V\'s token');

$s->api(PATCH => "/api/v1/projects/$bait", $victim, { repo_url => $url });
($id, $st) = deploy($victim, $bait);
is($st, 'PRODUCTION deployed', 'once V saves repo_url, V\'s token is used')
    or diag(log_text($id));

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
