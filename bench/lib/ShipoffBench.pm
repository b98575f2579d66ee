# bench/lib/ShipoffBench.pm: what the benchmarks share beyond the test
# library (tests/integration/lib): the project each of them measures with.
package ShipoffBench;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(bench_project);

# creates a project of $user's on the stack $s with %fields (name,
# repo_url, ...): the API's answer, or the bench dies saying why
sub bench_project {
    my ($s, $user, %fields) = @_;
    my $res = $s->api(POST => '/api/v1/projects', $user, \%fields);
    die "bench: project: $res->{status} $res->{content}\n"
        unless $res->{status} == 201;
    return $res->{json};
}

1;
