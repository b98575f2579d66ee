# Configuration errors are caught before anything starts and name the file,
# the line and the key (or the environment variable).

use strict;
use warnings;
use lib 'tests/integration/lib';
use Test::More;
use ShipoffTest qw(run tempdir top_dir);

my $top = top_dir();
my $dir = tempdir();
my @bins = map { "$top/$_" } qw(fcgi-apps/api/shipoff-api
    fcgi-apps/auth/shipoff-auth fcgi-apps/hooks/shipoff-hooks
    builder/shipoffd);

sub conf {
    my ($name, $text, $mode) = @_;
    my $path = "$dir/$name";
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
    chmod $mode // 0644, $path;
    return $path;
}

my $hex = 'ab' x 32;
my $secrets = conf('secrets', "jwt_key = $hex\nmaster_key = $hex\n"
                              . "webhook_secret = $hex\n", 0600);
my $loose = conf('loose', "jwt_key = $hex\n", 0644);
my $good = conf('good.conf', "# a comment\n\nredis_port = 6380\n"
                              . "secrets_file = $secrets\n");

my @cases = (
    # name, file text, environment, expected exit, stderr pattern
    [ 'good file', $good, {}, 0, qr/is ok/ ],
    [ 'unknown key',
      conf('unknown.conf', "log_level = info\n\nredis_prot = 1\n"), {}, 1,
      qr/unknown\.conf:3: unknown key "redis_prot"/ ],
    [ 'bad value',
      conf('value.conf', "redis_port = 99999\n"), {}, 1,
      qr/value\.conf:1: .*"redis_port"/ ],
    [ 'bad log level',
      conf('level.conf', "log_level = loud\n"), {}, 1,
      qr/level\.conf:1: .*"log_level"/ ],
    [ 'not key = value',
      conf('syntax.conf', "redis_port\n"), {}, 1,
      qr/syntax\.conf:1: / ],
    [ 'bad environment value', $good, { SHIPOFF_REDIS_PORT => 'abc' }, 1,
      qr/SHIPOFF_REDIS_PORT.*"redis_port"/ ],
    [ 'environment wins', conf('env.conf', "redis_port = 1\n"),
      { SHIPOFF_REDIS_PORT => '6390' }, 0, qr/is ok/ ],
    [ 'missing file', "$dir/nope.conf", {}, 1, qr/nope\.conf/ ],
    [ 'secrets readable by others',
      conf('loose.conf', "secrets_file = $loose\n"), {}, 1,
      qr/loose/ ],
    [ 'secret in the main file',
      conf('secret.conf', "jwt_key = $hex\n"), {}, 1,
      qr/secret\.conf:1: .*"jwt_key"/ ],
);

for my $bin (@bins) {
    my $prog = (split m{/}, $bin)[-1];
    for my $c (@cases) {
        my ($name, $path, $env, $exit, $pattern) = @$c;
        local %ENV = (%ENV, %$env);
        my ($rc, $out) = run($bin, '-t', '-c', $path);
        is($rc, $exit, "$prog: $name: exit $exit");
        like($out, $pattern, "$prog: $name: message");
        unlike($out, qr/$hex/, "$prog: $name: no secret in the output");
    }
}

done_testing();
