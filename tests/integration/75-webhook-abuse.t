# POST /hooks/github under attack (issue 11, point 7): projects whose
# repo_url only ends like the pushed repository (another host) never
# crowd out the project of that exact repository, however many and old
# they are; the exact repository key follows repo_url when it changes;
# at most webhook_max_candidates projects of one repository are tried,
# those with a hook registered on GitHub first; an address refused too
# often before it authenticates gets 429 with Retry-After, whatever it
# sends, while other addresses' deliveries go through.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use HTTP::Tiny;
use ShipoffTest qw(stack_up top_dir json_encode json_decode);

my $LIMIT = 5;
my $CAP = 4;
my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_AUTH_BURST => 1000,
                          SHIPOFF_ALLOW_PRIVATE_REPOS => '1',
                          SHIPOFF_WEBHOOK_FAIL_LIMIT => $LIMIT,
                          SHIPOFF_WEBHOOK_MAX_CANDIDATES => $CAP,
                          # 70 decoy projects of one account
                          SHIPOFF_QUOTA_PROJECTS => '0' });
$s->stop('shipoffd');

sub psql { $s->psql($_[0]) }

my $alice = $s->signup;
my $mallory = $s->signup;

sub project {
    my ($who, %body) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $who, \%body);
    die "project: $res->{status} $res->{content}" unless $res->{status} == 201;
    return $res->{json};
}

open my $fh, '<', top_dir() . '/tests/fixtures/github/push.json' or die $!;
my $push = do { local $/; <$fh> };
close $fh;

my $deliveries = 0;

# hook(FROM, BODY, SECRET): a push as GitHub sends it, from the local
# address FROM (127.0.0.x: the client address the hooks app sees)
sub hook {
    my ($from, $body, $secret) = @_;
    my $ua = HTTP::Tiny->new(timeout => 30, local_address => $from);
    my $res = $ua->request(POST => $s->url('/hooks/github'), {
        content => $body,
        headers => {
            'X-GitHub-Event'      => 'push',
            'X-GitHub-Delivery'   => sprintf('abuse-%d-%d', $$, ++$deliveries),
            'Content-Type'        => 'application/json',
            'X-Hub-Signature-256' => 'sha256='
                                     . hmac_sha256_hex($body, $secret),
        } });
    $res->{json} = eval { json_decode($res->{content}) };
    return $res;
}

sub deployed_for {
    my ($res) = @_;
    return join ',', map { psql("SELECT project_id FROM deployments"
                                . " WHERE id = $_") }
                     @{ $res->{json}{deployments} || [] };
}

# ---- 70 older projects on other hosts whose path ends in the full name

my @decoys = map {
    project($mallory, name => "decoy$_-$$",
            repo_url => "https://host$_.example/Codertocat/Hello-World"
                        . ($_ % 2 ? '.git' : ''))
} 1 .. 70;
my $real = project($alice, name => "real-$$",
                   repo_url => 'https://github.com/codertocat/hello-world');

is(psql("SELECT repo_key FROM projects WHERE id = $real->{id}"),
   'github.com/codertocat/hello-world', 'the exact key is stored');
is(psql("SELECT repo_key FROM projects WHERE id = $decoys[0]{id}"),
   'host1.example/codertocat/hello-world', "a decoy's key names its host");

my $res = hook('127.0.0.1', $push, $real->{webhook_secret});
is($res->{status}, 202, '70 decoys created first: the real project still '
   . 'gets its push') or diag($res->{content});
is(deployed_for($res), $real->{id}, '... a deployment of the real project');

# ---- repo_url changed through the API: the key follows

$res = $s->api(PATCH => "/api/v1/projects/$decoys[0]{id}", $mallory,
               { repo_url =>
                     'https://github.com/Codertocat/Hello-World.git' });
is($res->{status}, 200, 'a decoy moves to the real repository')
    or diag($res->{content});
$res = hook('127.0.0.1', $push, $decoys[0]{webhook_secret});
is($res->{status}, 202, "... and a push signed with its secret reaches it")
    or diag($res->{content});
is(deployed_for($res), $decoys[0]{id}, '... for it alone');

$res = $s->api(PATCH => "/api/v1/projects/$decoys[0]{id}", $mallory,
               { repo_url => 'https://host1.example/Codertocat/Hello-World' });
$res = hook('127.0.0.1', $push, $decoys[0]{webhook_secret});
is($res->{status}, 401, 'moved away again: its secret is refused');

# ---- more projects of one repository than webhook_max_candidates

my @same = map {
    project($mallory, name => "same$_-$$",
            repo_url => 'https://github.com/Codertocat/Hello-World')
} 1 .. $CAP;
my $late = project($alice, name => "late-$$",
                   repo_url => 'https://github.com/Codertocat/Hello-World');

$res = hook('127.0.0.1', $push, $late->{webhook_secret});
is($res->{status}, 401, "past $CAP older projects of the repository: "
   . 'not tried');
is(hook('127.0.0.1', $push, $real->{webhook_secret})->{status}, 202,
   '... the oldest still are');

# a hook GitHub registered for alice (admin of the repository) goes first
psql("UPDATE projects SET github_hook_id = 4242 WHERE id = $late->{id}");
$res = hook('127.0.0.1', $push, $late->{webhook_secret});
is($res->{status}, 202, 'with a registered GitHub hook it is tried first')
    or diag($res->{content});
is(deployed_for($res), $late->{id}, '... and deploys');

# ---- refusals from one address

my $bad = 'not the secret';
for my $i (1 .. $LIMIT) {
    $res = hook('127.0.0.2', $push, $bad);
    is($res->{status}, 401, "bad signature $i from 127.0.0.2: 401");
}

$res = hook('127.0.0.2', $push, $bad);
is($res->{status}, 429, 'the next one: 429') or diag($res->{content});
is($res->{json}{error}{code}, 'too_many_attempts', '... too_many_attempts');
my $after = $res->{headers}{'retry-after'} // '';
ok($after =~ /^\d+$/ && $after >= 1 && $after <= 600,
   "... with Retry-After within the window ($after)");

$res = hook('127.0.0.2', $push, $real->{webhook_secret});
is($res->{status}, 429, 'from that address even a valid delivery: 429');
$res = hook('127.0.0.2', '{"x":"' . ('x' x (2 * 1024 * 1024)) . '"}', $bad);
is($res->{status}, 429, '... and one with a 2 MB body');

$res = hook('127.0.0.3', $push, $real->{webhook_secret});
is($res->{status}, 202, "another address's valid delivery goes through")
    or diag($res->{content});
is(deployed_for($res), $real->{id}, '... and deploys');

# valid deliveries do not count: the first address is still not limited
$res = hook('127.0.0.1', $push, $real->{webhook_secret});
is($res->{status}, 202, 'the address of many valid deliveries: 202');

like($s->logs, qr/more than $CAP projects/,
     'the repository with too many projects is logged');

done_testing();
