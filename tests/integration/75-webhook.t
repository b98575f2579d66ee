# POST /hooks/github: GitHub deliveries signed with a project's webhook
# secret (HMAC-SHA256 over the raw body, as GitHub documents it) queue a
# deployment of the pushed commit for the projects of the repository whose
# secret verifies; a redelivery creates nothing new; pings, tags, other
# branches, deleted branches and other events are acknowledged and
# ignored; a missing, malformed or wrong signature is 401; the body cap is
# webhook_max_body_size (25 MB), not max_body_size.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use JSON::PP ();
use ShipoffTest qw(stack_up http top_dir json_encode json_decode);

# GitHub's documented test vector: what GitHub sends, our Perl signs
is(hmac_sha256_hex('Hello, World!', "It's a Secret to Everybody"),
   '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
   "Perl signs as GitHub does");

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s',
                          SHIPOFF_ALLOW_PRIVATE_REPOS => '1' });
$s->stop('shipoffd');

sub psql { $s->psql($_[0]) }

my $alice = $s->signup(email => "alice-$$\@example.com");

sub project {
    my (%body) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $alice, \%body);
    die "project: $res->{status} $res->{content}" unless $res->{status} == 201;
    return $res->{json};
}

# three projects of one repository, the URL written three ways
my $pa = project(name => "a$$",
                repo_url => 'https://github.com/Codertocat/Hello-World.git');
my $pb = project(name => "b$$",
                repo_url => 'https://GitHub.com/Codertocat/Hello-World/');
my $pc = project(name => "c$$", branch => 'develop',
                repo_url => 'https://github.com/Codertocat/Hello-World');
my $other = project(name => "o$$",
                    repo_url => 'https://github.com/Codertocat/Other');
ok($pa->{webhook_secret} && $pb->{webhook_secret} && $pc->{webhook_secret},
   'each project has its webhook secret');

open my $fh, '<', top_dir() . '/tests/fixtures/github/push.json' or die $!;
my $push = do { local $/; <$fh> };
close $fh;
my $payload = json_decode($push);
my $head = '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c';

my $deliveries = 0;
sub guid { sprintf '72d3162e-cc78-11e3-81ab-%012d', ++$deliveries }

# hook(BODY, SECRET, %headers): a delivery as GitHub sends it; a SECRET
# of undef sends no signature, a header given overrides
sub hook {
    my ($body, $secret, %h) = @_;
    $body = json_encode($body) if ref $body;
    my %headers = (
        'X-GitHub-Event'    => 'push',
        'X-GitHub-Delivery' => guid(),
        'User-Agent'        => 'GitHub-Hookshot/044aadd',
        'Content-Type'      => 'application/json',
        defined $secret
        ? ('X-Hub-Signature-256' => 'sha256=' . hmac_sha256_hex($body, $secret))
        : (),
        %h,
    );
    delete $headers{$_} for grep { !defined $headers{$_} } keys %headers;
    return http(POST => $s->url('/hooks/github'), $body, \%headers);
}

sub ndeploy { psql('SELECT count(*) FROM deployments') }

sub variant {
    my (%set) = @_;
    my $p = json_decode($push);
    $p->{$_} = $set{$_} for keys %set;
    return $p;
}

# ---- a push to main, signed with a's secret

my $id = guid();
my $res = hook($push, $pa->{webhook_secret}, 'X-GitHub-Delivery' => $id);
is($res->{status}, 202, 'push: 202') or diag($res->{content});
is(scalar @{ $res->{json}{deployments} }, 1, 'push: one deployment');
ok(!$res->{json}{redelivered}, 'push: not a redelivery');
my $dep = $res->{json}{deployments}[0];
is(psql("SELECT project_id, state, branch, commit_sha, trigger,"
        . " created_by IS NULL FROM deployments WHERE id = $dep"),
   "$pa->{id}|QUEUED|main|$head|push|t",
   "push: a QUEUED deployment of the head commit for a, by nobody");
is(psql("SELECT commit_message FROM deployments WHERE id = $dep"),
   "Update README.md\n\nMention the new deploy flow (marker-7f3a).",
   'push: the head commit message');
is(psql("SELECT count(*) FROM build_outbox WHERE deployment_id = $dep"
        . " AND sent_at IS NOT NULL"), 1, 'push: through the outbox');
is(psql("SELECT project_id, event, deployment_id, outcome"
        . " FROM webhook_deliveries WHERE delivery_id = '$id'"),
   "$pa->{id}|push|$dep|queued", 'push: the delivery is recorded');
is(psql("SELECT count(*) FROM deployments WHERE project_id"
        . " IN ($pb->{id}, $pc->{id})"), 0,
   "push: nothing for b (another secret) or c");

my $before = ndeploy();
$res = hook($push, $pa->{webhook_secret}, 'X-GitHub-Delivery' => $id);
is($res->{status}, 202, 'redelivery: 202');
is_deeply($res->{json}{deployments}, [ $dep ],
          'redelivery: the original deployment');
ok($res->{json}{redelivered}, 'redelivery: said so');
is(ndeploy(), $before, 'redelivery: nothing new');
is(psql("SELECT count(*) FROM build_outbox"), $before,
   'redelivery: no outbox row either');

$res = hook($push, $pb->{webhook_secret});
is($res->{status}, 202, "push signed with b's secret: 202");
is(psql("SELECT project_id FROM deployments WHERE id = "
        . "$res->{json}{deployments}[0]"), $pb->{id},
   "push signed with b's secret: for b (URL normalised)");

$res = hook(variant(ref => 'refs/heads/develop'), $pc->{webhook_secret});
is($res->{status}, 202, 'push to develop for c: 202');
is(psql("SELECT project_id, branch FROM deployments WHERE id = "
        . "$res->{json}{deployments}[0]"), "$pc->{id}|develop",
   "push to develop: c's branch deploys");

# ---- acknowledged, ignored

$before = ndeploy();
for my $c (
    [ 'ping', 200, undef, 'ping', { zen => 'Keep it logically awesome.',
        hook_id => 1, repository => $payload->{repository} } ],
    [ 'tag push', 202, qr/tag/, 'push',
      variant(ref => 'refs/tags/v1.0.0') ],
    [ 'another branch', 202, qr/push to feature.*deploys main/, 'push',
      variant(ref => 'refs/heads/feature') ],
    [ 'branch deletion', 202, qr/deleted/, 'push',
      variant(deleted => JSON::PP::true, after => '0' x 40,
              head_commit => undef) ],
    [ 'another event', 202, qr/issues event is not handled/, 'issues',
      { action => 'opened', repository => $payload->{repository} } ],
) {
    my ($name, $status, $why, $event, $body) = @$c;
    $res = hook($body, $pa->{webhook_secret}, 'X-GitHub-Event' => $event);
    is($res->{status}, $status, "$name: $status") or diag($res->{content});
    if (defined $why) {
        like($res->{json}{ignored}, $why, "$name: ignored, and why");
    } else {
        is_deeply($res->{json}, { ok => JSON::PP::true }, "$name: ok");
    }
}
is(ndeploy(), $before, 'none of those deployed anything');

# ---- refused

my $sig = 'sha256=' . hmac_sha256_hex($push, $pa->{webhook_secret});
my $wrong = 'sha256=' . hmac_sha256_hex($push, 'not the secret');
(my $altered = $push) =~ s/marker-7f3a/marker-7f3b/;
for my $c (
    [ 'no signature',       $push, undef ],
    [ 'empty signature',    $push, '' ],
    [ 'upper-case hex',     $push, 'sha256=' . uc substr($sig, 7) ],
    [ 'odd length',         $push, $sig . '0' ],
    [ 'one digit short',    $push, substr($sig, 0, -1) ],
    [ 'sha1=',              $push, 'sha1=' . substr($sig, 7, 40) ],
    [ 'no prefix',          $push, substr($sig, 7) ],
    [ 'wrong secret',       $push, $wrong ],
    [ 'altered body',       $altered, $sig ],
    [ 'SQL in signature',   $push, "sha256=' OR 1=1 --" ],
    [ 'a long signature',   $push, 'sha256=' . ('a' x 5000) ],
) {
    my ($name, $body, $header) = @$c;
    $res = hook($body, undef, 'X-Hub-Signature-256' => $header);
    is($res->{status}, 401, "$name: 401") or diag($res->{content});
    is($res->{json}{error}{code}, 'invalid_signature',
       "$name: invalid_signature");
}

$res = hook(variant(repository => { %{ $payload->{repository} },
                                    full_name => 'Codertocat/Unknown',
                                    clone_url => 'https://github.com/Codertocat/Unknown.git',
                                    html_url => 'https://github.com/Codertocat/Unknown',
                                    ssh_url => 'git@github.com:Codertocat/Unknown.git',
                                    git_url => 'git://github.com/Codertocat/Unknown.git' }),
            $pa->{webhook_secret});
is($res->{status}, 401, "a's secret, another repository: 401");
$res = hook($push, $other->{webhook_secret});
is($res->{status}, 401, "another project's secret: 401");
$res = hook(variant(repository => undef), $pa->{webhook_secret});
is($res->{status}, 401, 'no repository: 401');

$res = hook($push, $pa->{webhook_secret}, 'Content-Type' =>
            'application/x-www-form-urlencoded');
is($res->{status}, 415, 'form-encoded: 415');
$res = hook('{"ref":', $pa->{webhook_secret});
is($res->{status}, 400, 'broken JSON, signed: 400');
$res = hook($push, $pa->{webhook_secret}, 'X-GitHub-Delivery' => undef);
is($res->{status}, 400, 'no delivery id: 400');
$res = hook($push, $pa->{webhook_secret},
            'X-GitHub-Delivery' => "x'; DROP TABLE webhook_deliveries; --");
is($res->{status}, 400, 'SQL in the delivery id: 400');
$res = hook(variant(after => 'HEAD'), $pa->{webhook_secret});
is($res->{status}, 400, 'a push whose after is not a commit: 400');
is(ndeploy(), $before, 'none of those deployed anything');

# ---- the body cap is webhook_max_body_size, not max_body_size

my $big = variant(padding => 'x' x (2 * 1024 * 1024));
$res = hook($big, $pa->{webhook_secret});
is($res->{status}, 202, 'a 2 MB push (over max_body_size): 202')
    or diag($res->{content});

my $huge = '{"x":"' . ('x' x (25 * 1024 * 1024)) . '"}';
$res = hook($huge, $pa->{webhook_secret});
is($res->{status}, 413, 'over 25 MB: 413');
is($res->{json}{error}{code}, 'too_large', 'over 25 MB: too_large');
$res = hook('x' x (27 * 1024 * 1024), $pa->{webhook_secret});
is($res->{status}, 413, "over nginx's 26 MB: 413");

# ---- Redis down: the push is queued all the same

$s->stop('redis');
$res = hook($push, $pa->{webhook_secret});
is($res->{status}, 202, 'Redis down: 202') or diag($res->{content});
is(psql("SELECT count(*) FROM build_outbox WHERE deployment_id = "
        . "$res->{json}{deployments}[0] AND sent_at IS NULL"), 1,
   'Redis down: the outbox row waits unsent');
$s->start('redis');

my $logs = $s->logs;
unlike($logs, qr/marker-7f3/, 'the body is never logged');
unlike($logs, qr/\Q@{[ substr($sig, 7) ]}\E/, 'the signature is never logged');
unlike($logs, qr/\Q$pa->{webhook_secret}\E/, 'the secret is never logged');

done_testing();
