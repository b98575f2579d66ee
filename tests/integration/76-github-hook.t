# Creating a project from a github.com repository registers its webhook on
# GitHub as the user who signed in with GitHub (a local fake of the API,
# FakeProvider.pm): the request GitHub gets, the hook id kept, a refusal
# kept as the project's github_hook.error without failing the creation,
# and no hook call for users without GitHub or repos elsewhere.

use strict;
use warnings;
use Test::More;
use JSON::PP ();

use lib 'tests/integration/lib';
use ShipoffTest qw(http stack_up);
use FakeProvider;

my $T = JSON::PP::true;
my $fp = FakeProvider->start;
my $s = stack_up(env => { $fp->env, SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000 });

# signs in with GitHub as a user with admin rights on @repos
sub github_login {
    my ($id, $login, @repos) = @_;
    my $res = $fp->login($s, 'github',
                         user => { id => $id, login => $login },
                         emails => [ { email => "$login-$$\@example.com",
                                       primary => $T, verified => $T } ],
                         repos => \@repos);
    die "login: $res->{status} $res->{content}" unless $res->{status} == 200;
    return $res->{json};
}

sub hook_requests {
    return grep { $_->{path} =~ m{^/repos/} } @{ $fp->requests };
}

my $ann = github_login(9001, 'ann', 'ann/blog');

my $res = http(POST => $s->url('/api/v1/projects'),
               { name => 'annblog',
                 repo_url => 'https://github.com/ann/blog.git' },
               $s->auth_header($ann));
is($res->{status}, 201, 'create: 201') or diag($res->{content});
my $p = $res->{json};
like($p->{github_hook}{id}, qr/^\d+$/, 'the hook id is kept');
is($p->{github_hook}{error}, undef, 'no hook error');

my @req = hook_requests();
is(scalar @req, 1, 'one call to GitHub');
is($req[0]{method} . ' ' . $req[0]{path}, 'POST /repos/ann/blog/hooks',
   'POST /repos/OWNER/REPO/hooks (".git" dropped)');
like($req[0]{headers}{authorization}, qr/^Bearer \S+$/,
     'as the user, with the GitHub token');
my $hook = JSON::PP->new->decode($req[0]{body});
is_deeply($hook, { name => 'web', active => $T, events => ['push'],
                   config => { url => $p->{webhook_url},
                               content_type => 'json',
                               secret => $p->{webhook_secret},
                               insecure_ssl => '0' } },
          'the hook: push events, JSON, our URL and the project secret');

$res = http(GET => $s->url("/api/v1/projects/$p->{id}"), undef,
            $s->auth_header($ann));
is($res->{json}{github_hook}{id}, $p->{github_hook}{id},
   'the hook id is on the project');

# no admin right on the repository: GitHub says 404, the project stays
$res = http(POST => $s->url('/api/v1/projects'),
            { name => 'other', repo_url => 'https://github.com/bob/x' },
            $s->auth_header($ann));
is($res->{status}, 201, 'refused by GitHub: still 201')
    or diag($res->{content});
is($res->{json}{github_hook}{id}, undef, 'refused: no hook id');
like($res->{json}{github_hook}{error}, qr/GitHub answered 404/,
     'refused: the reason is kept');

# not github.com, or no GitHub identity: no call
my $before = hook_requests();
$res = http(POST => $s->url('/api/v1/projects'),
            { name => 'gitlab', repo_url => 'https://gitlab.com/ann/blog' },
            $s->auth_header($ann));
is($res->{status}, 201, 'gitlab.com: 201');
my $plain = $s->signup;
$res = http(POST => $s->url('/api/v1/projects'),
            { name => 'plain', repo_url => 'https://github.com/ann/blog' },
            $s->auth_header($plain));
is($res->{status}, 201, 'a user without GitHub: 201');
is($res->{json}{github_hook}{error}, undef, 'without GitHub: no error');
is(scalar(hook_requests()), $before, 'neither called GitHub');

# GitHub down: the reason is kept
$fp->stop;
$res = http(POST => $s->url('/api/v1/projects'),
            { name => 'down', repo_url => 'https://github.com/ann/blog' },
            $s->auth_header($ann));
is($res->{status}, 201, 'GitHub unreachable: still 201');
like($res->{json}{github_hook}{error}, qr/could not be reached/,
     'GitHub unreachable: said so');

my $logs = $s->logs;
ok(index($logs, $p->{webhook_secret}) < 0, 'the secret is in no log');

done_testing;
