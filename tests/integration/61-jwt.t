# Access tokens over HTTP: a corpus of forged, broken and stale JWTs (and
# not-quite-Bearer headers) against GET /api/v1/me, every one of which must
# be a 401 with WWW-Authenticate: Bearer, next to well-made tokens that
# must pass (so the corpus is built right and each case can fail).  A
# token of a deleted user stops working at once, and so does one of an
# earlier token generation (a password change bumps it: 64-tokens.t).

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use ShipoffTest qw(stack_up http json_encode);

my $s = stack_up(env => { SHIPOFF_AUTH_RATE => '1000r/s' });

my $key;
{
    open my $fh, '<', $s->var . '/secrets' or die "secrets: $!";
    while (<$fh>) { $key = pack('H*', $1) if /^jwt_key\s*=\s*([0-9a-f]{64})/ }
    die 'no jwt_key' unless defined $key;
}

my $u = $s->signup;
my $uid = $u->{user}{id};
my $now = time;

sub b64 { encode_base64url(ref $_[0] ? json_encode($_[0]) : $_[0]) }

# jwt(claims overrides, header overrides, signing key)
sub jwt {
    my ($claims, $header, $k) = @_;
    my %h = (alg => 'HS256', typ => 'JWT', %{ $header || {} });
    my %c = (iss => 'shipoff', aud => 'shipoff', sub => "$uid",
             typ => 'access', iat => $now, nbf => $now, exp => $now + 600,
             jti => "t$$", %{ $claims || {} });
    delete @h{ grep { !defined $h{$_} } keys %h };
    delete @c{ grep { !defined $c{$_} } keys %c };
    my $input = b64(\%h) . '.' . b64(\%c);
    return "$input." . b64(hmac_sha256($input, $k // $key));
}

sub me { http(GET => $s->url('/api/v1/me'), undef, $_[0]) }

# well-made tokens pass
my @good = (
    [ 'the token signup gave',      "Bearer $u->{access_token}" ],
    [ 'a token made here',          'Bearer ' . jwt() ],
    [ 'lower-case scheme',          'bearer ' . jwt() ],
    [ 'aud as an array',            'Bearer ' . jwt({ aud => ['x', 'shipoff'] }) ],
    [ 'expired within the leeway',  'Bearer ' . jwt({ exp => $now - 5 }) ],
    [ 'gen 0, the current one',     'Bearer ' . jwt({ gen => 0 }) ],
);
for my $c (@good) {
    my $res = me({ Authorization => $c->[1] });
    is($res->{status}, 200, "$c->[0]: 200") or diag $res->{content};
    is($res->{json}{id}, $uid, "$c->[0]: the right user");
}

my $valid = jwt();
my ($vh, $vp, $vs) = split /\./, $valid;
my $other = jwt(undef, undef, 'k' x 32);
my $hs512 = do {
    my $in = b64({ alg => 'HS512', typ => 'JWT' }) . ".$vp";
    require Digest::SHA;
    "$in." . b64(Digest::SHA::hmac_sha512($in, $key));
};

my @bad = (
    [ 'no Authorization header',    undef ],
    [ 'empty header',               '' ],
    [ '"Bearer" with nothing',      'Bearer' ],
    [ '"Bearer " with nothing',     'Bearer ' ],
    [ 'Basic scheme',               'Basic dXNlcjpjb3JyZWN0IGhvcnNl' ],
    [ 'the token without a scheme', $valid ],
    [ 'Token scheme',               "Token $valid" ],
    [ 'garbage',                    'Bearer not-a-jwt' ],
    [ 'three dots',                 'Bearer ...' ],
    [ 'two parts',                  "Bearer $vh.$vp" ],
    [ 'four parts',                 "Bearer $valid.$vs" ],
    [ 'truncated signature',        'Bearer ' . substr($valid, 0, -3) ],
    [ 'truncated payload',          "Bearer $vh." . substr($vp, 0, -4) . ".$vs" ],
    [ 'padding in base64url',       "Bearer $valid=" ],
    [ 'non-base64url bytes',        "Bearer $vh.$vp.\$\$\$" ],
    [ 'alg none, no signature',     'Bearer ' . b64({ alg => 'none', typ => 'JWT' }) . ".$vp." ],
    [ 'alg none, old signature',    'Bearer ' . b64({ alg => 'none', typ => 'JWT' }) . ".$vp.$vs" ],
    [ 'alg None',                   'Bearer ' . jwt(undef, { alg => 'None' }) ],
    [ 'RS256 header, HMAC signed (key confusion)',
                                    'Bearer ' . jwt(undef, { alg => 'RS256' }) ],
    [ 'HS512',                      "Bearer $hs512" ],
    [ 'no alg',                     'Bearer ' . jwt(undef, { alg => undef }) ],
    [ 'header typ not JWT',         'Bearer ' . jwt(undef, { typ => 'JWS+x' }) ],
    [ 'another key',                "Bearer $other" ],
    [ 'empty signature',            "Bearer $vh.$vp." ],
    [ 'tampered payload',           "Bearer $vh." . b64({ iss => 'shipoff', aud => 'shipoff', sub => '1', typ => 'access', exp => $now + 600 }) . ".$vs" ],
    [ 'wrong aud',                  'Bearer ' . jwt({ aud => 'other' }) ],
    [ 'aud array without us',       'Bearer ' . jwt({ aud => ['a', 'b'] }) ],
    [ 'no aud',                     'Bearer ' . jwt({ aud => undef }) ],
    [ 'wrong iss',                  'Bearer ' . jwt({ iss => 'evil' }) ],
    [ 'no iss',                     'Bearer ' . jwt({ iss => undef }) ],
    [ 'typ refresh',                'Bearer ' . jwt({ typ => 'refresh' }) ],
    [ 'no typ',                     'Bearer ' . jwt({ typ => undef }) ],
    [ 'expired',                    'Bearer ' . jwt({ exp => $now - 3600 }) ],
    [ 'no exp',                     'Bearer ' . jwt({ exp => undef }) ],
    [ 'exp a string',               'Bearer ' . jwt({ exp => "" . ($now + 600) }) ],
    [ 'not yet valid',              'Bearer ' . jwt({ nbf => $now + 3600 }) ],
    [ 'sub of nobody',              'Bearer ' . jwt({ sub => '999999' }) ],
    [ 'sub zero',                   'Bearer ' . jwt({ sub => '0' }) ],
    [ 'sub not a number',           'Bearer ' . jwt({ sub => "$uid OR 1=1" }) ],
    [ 'sub huge',                   'Bearer ' . jwt({ sub => '9' x 30 }) ],
    [ 'sub a number, not a string', 'Bearer ' . jwt({ sub => $uid + 0 }) ],
    [ 'gen not the current one',    'Bearer ' . jwt({ gen => 1 }) ],
    [ 'gen a string',               'Bearer ' . jwt({ gen => '0' }) ],
    [ 'gen negative',               'Bearer ' . jwt({ gen => -1 }) ],
    [ 'payload not an object',      'Bearer ' . b64({ alg => 'HS256', typ => 'JWT' }) . '.' . b64('[1]') . '.' . b64(hmac_sha256(b64({ alg => 'HS256', typ => 'JWT' }) . '.' . b64('[1]'), $key)) ],
    [ 'a 5 KB token',               'Bearer ' . jwt({ pad => 'p' x 5000 }) ],
    [ 'a 64 KB token',              'Bearer ' . ('A' x 65536) ],
    [ 'a PAT-looking garbage',      'Bearer sho_nope' ],
);

for my $c (@bad) {
    my ($name, $h) = @$c;
    my $res = me(defined $h ? { Authorization => $h } : {});
    is($res->{status}, 401, "$name: 401") or diag $res->{content};
    is($res->{json} && $res->{json}{error}{code}, 'unauthorized',
       "$name: unauthorized");
    like($res->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
         "$name: WWW-Authenticate: Bearer");
}

# a deleted user's token stops working at once
my $v = $s->signup;
is(me($s->auth_header($v))->{status}, 200, 'before the delete: 200');
$s->psql("DELETE FROM users WHERE id = $v->{user}{id}");
is(me($s->auth_header($v))->{status}, 401, "a deleted user's token: 401");
# /me reads the account as its proof of life; every other endpoint asks
# whether the user exists: both refuse
is(http(GET => $s->url('/api/v1/projects'), undef,
        $s->auth_header($v))->{status}, 401,
   "a deleted user's token elsewhere: 401");
is(http(POST => $s->url('/auth/v1/refresh'),
        { refresh_token => $v->{refresh_token} })->{status}, 401,
   "a deleted user's refresh token: 401");

# no token reached a log
my $logs = $s->logs;
my @leaks = grep { index($logs, $_) >= 0 }
    ($u->{access_token}, $v->{access_token}, $valid, $vs);
is(scalar @leaks, 0, 'no token in any log file');

done_testing();
