# Request bodies: the size cap (413), malformed JSON (400), the media type
# (415), all as JSON errors in the shape of DESIGN.md.  They go to a real
# endpoint that reads a JSON body (PATCH /api/v1/me): a body that passes
# the body path reaches the handler's own checks (200, or 422 for a field
# it does not know), which proves it was read to its end and parsed.

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(stack_up http);

my $s = stack_up();
my $url = $s->url('/api/v1/me');
my $auth = $s->auth_header($s->signup());
my $cap = 1024 * 1024;                 # max_body_size's default

my $big = '{"a":"' . ('x' x ($cap + 10)) . '"}';
my $fits = '{"a":"' . ('x' x ($cap - 20)) . '"}';

my @cases = (
    # name, body, content type, status, error code
    [ 'an object',        '{"name":"blog"}',  undef, 200, undef ],
    [ 'just under cap',   $fits,              undef, 422, 'unknown_field' ],
    [ 'over the cap',     $big,               undef, 413, 'too_large' ],
    [ 'far over (nginx)', 'x' x (9 << 20),    undef, 413, 'too_large' ],
    [ 'malformed',        '{"name": ',        undef, 400, 'malformed_json' ],
    [ 'trailing garbage', '{"a":1} x',        undef, 400, 'malformed_json' ],
    [ 'duplicate keys',   '{"a":1,"a":2}',    undef, 400, 'malformed_json' ],
    [ 'an array',         '[1,2]',            undef, 400, 'malformed_json' ],
    [ 'empty',            '',                 undef, 400, 'malformed_json' ],
    [ 'not JSON type',    '{"a":1}', 'text/plain',   415,
      'unsupported_media_type' ],
);

for my $c (@cases) {
    my ($name, $body, $type, $status, $code) = @$c;
    my $res = http(PATCH => $url, $body,
                   { %$auth, 'Content-Type' => $type // 'application/json' });
    is($res->{status}, $status, "$name: $status");
    if (defined $code) {
        is($res->{json}{error}{code}, $code, "$name: error $code");
        like($res->{json}{error}{message} // '', qr/\S/, "$name: message");
    } else {
        is($res->{json}{name}, 'blog', "$name: read and applied");
    }
}

# the echo endpoint that used to serve these tests is not in production
my $echo = http(POST => $s->url('/api/v1/echo'), '{"a":1}');
is($echo->{status}, 404, 'no /api/v1/echo: 404');
is($echo->{json}{error}{code}, 'not_found', 'no /api/v1/echo: not_found');

# the app is still fine after all that
is(http(GET => $s->url('/api/v1/health'))->{status}, 200, 'still healthy');

done_testing();
